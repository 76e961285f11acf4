import Logging
import ServiceLifecycle

/// Starts scheduled campaigns when their time comes and feeds sending campaigns' due recipients
/// into the queue (``CampaignService/launchDue()``, ``CampaignService/feedPass()``). Safe with
/// several processes on one database: each launch and each feed pass holds the campaign's row
/// lock, so a campaign starts once and no recipient is fed twice. State lives in PostgreSQL
/// only, so a restart picks up where the last process stopped.
public struct CampaignScheduler: Service {
    let campaigns: CampaignService
    let wakeUp: WakeSignal
    /// How long an idle pass waits before looking again (a local action wakes it sooner).
    let idle: Duration
    let logger: Logger

    init(campaigns: CampaignService, wakeUp: WakeSignal, idle: Duration = .milliseconds(250), logger: Logger) {
        self.campaigns = campaigns
        self.wakeUp = wakeUp
        self.idle = idle
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let more = await pass()
                if !more { await wakeUp.wait(upTo: idle) }
            }
        }
    }

    /// One pass; returns whether more is due at once.
    @discardableResult
    public func pass() async -> Bool {
        do {
            _ = try await campaigns.launchDue()
            return try await campaigns.feedPass().more
        } catch is CancellationError {
            return false
        } catch {
            logger.warning("campaign pass failed; will retry", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: .seconds(1))
            return false
        }
    }
}
