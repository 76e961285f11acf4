import Logging
import ServiceLifecycle

/// Starts scheduled campaigns when their time comes and feeds sending campaigns' due recipients
/// into the queue (``CampaignService/launchDue()``, ``CampaignService/feedPass()``). Safe with
/// several processes on one database: each launch and each feed pass holds the campaign's row
/// lock, so a campaign starts once and no recipient is fed twice. State lives in PostgreSQL
/// only, so a restart picks up where the last process stopped.
public struct CampaignScheduler: Service {
    let campaigns: CampaignService
    /// Contacts stored before numbers' types were kept get theirs here, in the background.
    let contacts: ContactService
    let wakeUp: WakeSignal
    /// How long an idle pass waits before looking again (a local action wakes it sooner).
    let idle: Duration
    let logger: Logger

    init(campaigns: CampaignService, contacts: ContactService, wakeUp: WakeSignal, idle: Duration = .seconds(1), logger: Logger) {
        self.campaigns = campaigns
        self.contacts = contacts
        self.wakeUp = wakeUp
        self.idle = idle
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var untyped = true
            while !Task.isCancelled {
                var more = await pass()
                if untyped {
                    untyped = await classifyUntyped()
                    more = more || untyped
                }
                if !more { await wakeUp.wait(upTo: idle) }
            }
        }
    }

    /// Classifies a batch of contacts stored without their number's type; returns whether more remain.
    public func classifyUntyped() async -> Bool {
        do {
            let batch = 1000
            let done = try await contacts.classifyUntyped(limit: batch)
            if done > 0 { logger.info("classified stored numbers", metadata: ["contacts": "\(done)"]) }
            return done == batch
        } catch is CancellationError {
            return false
        } catch {
            logger.warning("could not classify stored numbers; will retry", metadata: ["error": "\(error)"])
            try? await Task.sleep(for: .seconds(1))
            return true
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
