import Postgres

extension HeraldError {
    /// The domain form of a database failure that escaped a service: `database_unavailable`
    /// when the database cannot be reached (the caller may retry), nil for anything else (a
    /// bug: the edge logs it and answers a bare internal error). The one place that knows
    /// what a `PostgresError` means, so no layer above `Herald` needs to import `Postgres`.
    public init?(databaseFailure error: any Error) {
        guard let error = error as? PostgresError,
              [.connectionFailed, .connectionLost, .poolExhausted, .poolClosed].contains(error.code)
        else { return nil }
        self.init(.databaseUnavailable, "the database is unavailable; try again shortly", retryAfter: 5)
    }
}
