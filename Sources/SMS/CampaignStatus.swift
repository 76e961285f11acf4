/// A campaign's life (API.md, "Campaigns"): `draft` → `scheduled` → `sending` ⇄ `paused` →
/// `completed`, or `canceled` from anything not yet finished. The one place transitions are
/// decided; a transition the state does not allow is the API's 409 `invalid_state`.
public enum CampaignStatus: String, Sendable, Codable, CaseIterable {
    case draft, scheduled, sending, paused, completed, canceled

    /// What a marketer (or the scheduler) does to a campaign.
    public enum Action: String, Sendable, Equatable, CaseIterable {
        /// Set a time (absolute or recipient-local) and wait for it.
        case schedule
        /// Launch now: the audience is frozen and sending starts.
        case send
        /// The scheduler reached the scheduled time.
        case start
        case pause
        case resume
        case cancel
        /// Every recipient has a final outcome.
        case complete
        /// Change name, template, segment, schedule or limits.
        case edit
        /// Remove the campaign.
        case delete
    }

    /// Nothing will happen any more.
    public var isFinished: Bool { self == .completed || self == .canceled }

    /// The status after `action`, or nil when this status does not allow it. `edit` and `delete`
    /// keep or end the campaign and are allowed only before launch.
    public func after(_ action: Action) -> CampaignStatus? {
        switch (self, action) {
        case (.draft, .schedule), (.scheduled, .schedule): .scheduled
        case (.draft, .send), (.scheduled, .send): .sending
        case (.scheduled, .start): .sending
        case (.sending, .pause): .paused
        case (.paused, .resume): .sending
        case (.sending, .complete): .completed
        case (.draft, .cancel), (.scheduled, .cancel), (.sending, .cancel), (.paused, .cancel): .canceled
        case (.draft, .edit), (.scheduled, .edit): self
        case (.draft, .delete), (.scheduled, .delete): self
        default: nil
        }
    }

    /// The statuses from which `action` is allowed, for statements that check it in SQL.
    public static func sources(of action: Action) -> [CampaignStatus] {
        allCases.filter { $0.after(action) != nil }
    }
}
