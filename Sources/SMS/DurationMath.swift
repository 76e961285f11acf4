extension Duration {
    /// Whole milliseconds, rounded toward zero: what SQL intervals, headers and logs take.
    /// The one conversion from `Duration` to milliseconds.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Milliseconds with the fraction kept, for arithmetic and display.
    public var fractionalMilliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
