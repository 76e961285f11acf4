import ServiceLifecycle

/// Runs `pass` every `interval` (after `interval` first, unless `immediately`) until the task
/// is cancelled or a graceful shutdown begins; the shutdown cancels the wait, so stopping
/// never waits an interval out. The loop of every periodic worker.
func repeatEvery(_ interval: Duration, immediately: Bool = false, _ pass: @escaping @Sendable () async -> Void) async {
    try? await cancelWhenGracefulShutdown {
        if immediately { await pass() }
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            await pass()
        }
    }
}
