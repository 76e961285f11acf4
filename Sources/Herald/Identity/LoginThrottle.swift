import Foundation

/// Limits on password guessing (NIST SP 800-63B §5.2.2), counted in ``RateLimitStore`` so they
/// hold across processes — and counted *before* the password is checked, so a burst of parallel
/// guesses cannot all be checked while the first ones are still running.
///
/// Three counters, hit in this order, each only when the previous one allowed the attempt:
///
/// 1. **per address** (default 50 / 15 min): one client spraying many accounts;
/// 2. **per account and address** (default 5 / 15 min): one client guessing one account;
/// 3. **per account** (default 100 / hour): guesses from many addresses at one account. This
///    is the lock NIST allows after at most 100 consecutive failures.
///
/// The order is what keeps a stranger from locking the real user out: attempts refused by the
/// pair limit never reach the account counter, so one address adds at most 5 to it every 15
/// minutes (20 an hour, below 100); locking an account takes at least five addresses working
/// for an hour, and even then only for the rest of that hour. A successful login resets the
/// pair and account counters ("consecutive" failures); the address counter is never reset by a
/// success, or an attacker with one valid account could clear it between guesses.
struct LoginThrottle: Sendable {
    let store: RateLimitStore
    let limits: IdentityService.Limits

    /// Counts an attempt for `email` from `address`; throws `rateLimited` with `retryAfter`
    /// when any limit is reached.
    func admit(email: String, address: String, now: Date) async throws {
        let account = Self.accountID(email)
        let checks: [(key: String, rule: RateLimit, message: String)] = [
            (Self.addressKey(address), limits.perAddress, "too many login attempts from this address; try again later"),
            (Self.pairKey(account: account, address: address), limits.perAccountAndAddress,
             "too many login attempts for this account from this address; try again later"),
            (Self.accountKey(account), limits.perAccount, "too many failed logins for this account; try again later"),
        ]
        for check in checks {
            if case .denied(let retryAfter) = try await store.hit(check.key, check.rule, now: now) {
                throw HeraldError(.rateLimited, check.message, retryAfter: retryAfter)
            }
        }
    }

    /// After a correct password: the failures of this account (from here and elsewhere) were
    /// not consecutive any more.
    func succeeded(email: String, address: String) async throws {
        let account = Self.accountID(email)
        try await store.reset(Self.pairKey(account: account, address: address))
        try await store.reset(Self.accountKey(account))
    }

    /// Forgets every login counter of an account (`herald users reset-password`).
    func clear(email: String) async throws {
        let account = Self.accountID(email)
        try await store.reset(Self.accountKey(account))
        try await store.reset(keysStartingWith: "login:pair:\(account):")
    }

    // MARK: Keys

    /// A digest of the normalised e-mail: addresses of people are not stored in the counters.
    static func accountID(_ email: String) -> String {
        Tokens.digest(email.trimmingCharacters(in: .whitespaces).lowercased()).prefix(16)
            .map { String(format: "%02x", $0) }.joined()
    }

    /// IPv6 clients are counted per /64: one subscriber usually holds a whole /64, so counting
    /// single addresses would give them 2⁶⁴ fresh budgets.
    static func addressBucket(_ address: String) -> String {
        guard let ip = IPAddress(address) else { return String(address.prefix(64)) }
        return ip.isIPv4 ? ip.description : ip.masked(to: 64).description + "/64"
    }

    static func addressKey(_ address: String) -> String { "login:address:" + addressBucket(address) }
    static func pairKey(account: String, address: String) -> String { "login:pair:\(account):" + addressBucket(address) }
    static func accountKey(_ account: String) -> String { "login:account:" + account }
}
