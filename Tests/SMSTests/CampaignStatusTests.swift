import SMS
import Testing

@Suite("Campaign status transitions")
struct CampaignStatusTests {
    /// Every pair, written out: the table is the specification.
    static let allowed: [CampaignStatus: [CampaignStatus.Action: CampaignStatus]] = [
        .draft: [.schedule: .scheduled, .send: .sending, .cancel: .canceled, .edit: .draft, .delete: .draft],
        .scheduled: [.schedule: .scheduled, .send: .sending, .start: .sending, .cancel: .canceled, .edit: .scheduled, .delete: .scheduled],
        .sending: [.pause: .paused, .complete: .completed, .cancel: .canceled],
        .paused: [.resume: .sending, .cancel: .canceled],
        .completed: [:],
        .canceled: [:],
    ]

    @Test("every status × action pair is as the table says", arguments: CampaignStatus.allCases)
    func table(status: CampaignStatus) {
        for action in CampaignStatus.Action.allCases {
            #expect(status.after(action) == Self.allowed[status]?[action], "\(status) \(action)")
        }
    }

    @Test("finished campaigns allow nothing; pause and resume only go back and forth")
    func properties() {
        for status in CampaignStatus.allCases where status.isFinished {
            #expect(CampaignStatus.Action.allCases.allSatisfy { status.after($0) == nil })
        }
        #expect(CampaignStatus.sending.after(.pause)?.after(.resume) == .sending)
        #expect(CampaignStatus.sources(of: .pause) == [.sending])
        #expect(CampaignStatus.sources(of: .cancel) == [.draft, .scheduled, .sending, .paused])
        #expect(CampaignStatus.sources(of: .edit) == [.draft, .scheduled])
    }
}
