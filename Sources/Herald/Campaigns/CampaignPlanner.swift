import Foundation
import Phone
import SMS

/// What becomes of one recipient when its turn comes: skipped (with the reason), deferred to a
/// later instant (its local time, the end of quiet hours), or sent with this text. Pure: the
/// scheduler reads the recipients and writes the outcomes; every rule lives here.
public struct CampaignPlanner: Sendable {
    /// A recipient as the feeder reads it: the frozen audience row joined with its contact now.
    public struct Recipient: Sendable, Equatable {
        public var contactID: UUID
        /// nil when the contact was deleted after launch.
        public var phone: String?
        public var subscribed: Bool
        public var country: String?
        public var firstName: String?
        public var lastName: String?
        public var locale: String?
        public var timezone: String?
        public var tags: [String]
        public var attributes: [String: JSONValue]
        /// Stored with the contact; nil for contacts older than the column (classified here).
        public var lineType: String?
        /// Marketing messages sent to this number within the cap's window.
        public var recentMarketing: Int

        public init(contactID: UUID, phone: String?, subscribed: Bool = true, country: String? = nil, firstName: String? = nil,
                    lastName: String? = nil, locale: String? = nil, timezone: String? = nil, tags: [String] = [],
                    attributes: [String: JSONValue] = [:], lineType: String? = nil, recentMarketing: Int = 0) {
            self.contactID = contactID; self.phone = phone; self.subscribed = subscribed; self.country = country
            self.firstName = firstName; self.lastName = lastName; self.locale = locale; self.timezone = timezone
            self.tags = tags; self.attributes = attributes; self.lineType = lineType; self.recentMarketing = recentMarketing
        }
    }

    public enum Decision: Sendable, Equatable {
        case skip(RecipientReason)
        /// Not before this instant: left pending until then.
        case later(Date)
        /// Queue it now, not to go before `sendAfter`.
        case send(body: String, text: MessageText, locale: String?, sendAfter: Date)
    }

    public let template: Template
    public let schedule: Campaign.Schedule
    public let quietHours: QuietHours?
    public let frequencyCap: Settings.FrequencyCap?
    /// Appended to marketing bodies that do not say how to opt out.
    public let footer: String
    public let optOutKeywords: [String]
    /// For `.none` schedules: when the campaign was sent.
    public let launchedAt: Date
    /// Recipients due within this much of now are queued with their exact send time rather
    /// than left for the next pass.
    public let lookahead: TimeInterval

    private let compiled: [String: MessageTemplate]

    public init(template: Template, schedule: Campaign.Schedule, quietHours: QuietHours?, frequencyCap: Settings.FrequencyCap?,
                footer: String, optOutKeywords: [String], launchedAt: Date, lookahead: TimeInterval = 2) throws {
        self.template = template
        self.schedule = schedule
        self.quietHours = quietHours
        self.frequencyCap = frequencyCap
        self.footer = footer
        self.optOutKeywords = optOutKeywords
        self.launchedAt = launchedAt
        self.lookahead = lookahead
        var compiled: [String: MessageTemplate] = [:]
        do {
            compiled[""] = try MessageTemplate(template.body)
            for (locale, source) in template.translations { compiled[locale] = try MessageTemplate(source) }
        } catch {
            throw TemplateRules.heraldError(error, field: "template")
        }
        self.compiled = compiled
    }

    /// The zone a recipient's wall-clock times are read in.
    func zone(of recipient: Recipient, phone: String) -> TimeZone {
        let fallback: TimeZone
        if case .local(_, let zone) = schedule { fallback = zone } else { fallback = TimeZone(identifier: "UTC")! }
        return CampaignTime.zone(contactTimezone: recipient.timezone, phone: phone, fallback: fallback)
    }

    public func decide(_ recipient: Recipient, now: Date) -> Decision {
        guard let phone = recipient.phone else { return .skip(.deleted) }
        guard recipient.subscribed else { return .skip(.unsubscribed) }
        if let reason = Self.lineProblem(lineType: recipient.lineType, phone: phone, channel: template.channel) { return .skip(reason) }
        if let cap = frequencyCap, recipient.recentMarketing >= cap.max { return .skip(.frequencyCapped) }
        let zone = zone(of: recipient, phone: phone)
        let wanted: Date
        switch schedule {
        case .none: wanted = launchedAt
        case .at(let date): wanted = date
        case .local(let wall, _): wanted = CampaignTime.instant(wall, in: zone) ?? launchedAt
        }
        let allowed = CampaignTime.outsideQuietHours(max(wanted, now), quiet: quietHours, zone: zone)
        if allowed.timeIntervalSince(now) > lookahead { return .later(allowed) }
        let rendered: (String, String?)
        do { rendered = try render(recipient, phone: phone) } catch { return .skip(.missingVariable) }
        var body = rendered.0
        if template.kind == .marketing {
            body = MessageService.withFooter(body, footer: footer, keywords: optOutKeywords)
        }
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
              body.unicodeScalars.count <= MessageService.maximumBodyCharacters
        else { return .skip(.missingVariable) }
        return .send(body: body, text: MessageText(body), locale: rendered.1, sendAfter: allowed)
    }

    /// Why a number cannot take this channel, from its stored type (or libphonenumber's, when
    /// none is stored); nil when it can.
    public static func lineProblem(lineType: String?, phone: String, channel: MessageChannel) -> RecipientReason? {
        let type: PhoneNumberType
        if let lineType, let known = PhoneNumberType(rawValue: lineType) {
            type = known
        } else {
            guard let number = try? PhoneNumberParser.parse(phone, defaultRegion: nil) else { return .invalidNumber }
            type = number.type
        }
        if type == .unknown { return .invalidNumber }
        if channel == .sms && !type.isSMSCapable { return .notMobile }
        return nil
    }

    /// The variables a template sees for a contact: its fields (empty text when unset), `tags`,
    /// and `attributes` — also each attribute by its own name when no field has that name.
    public static func variables(of recipient: Recipient, phone: String) -> [String: JSONValue] {
        var variables: [String: JSONValue] = [:]
        for (key, value) in recipient.attributes { variables[key] = value }
        variables["attributes"] = .object(recipient.attributes)
        variables["first_name"] = .string(recipient.firstName ?? "")
        variables["last_name"] = .string(recipient.lastName ?? "")
        variables["phone"] = .string(phone)
        variables["country"] = .string(recipient.country ?? "")
        variables["locale"] = .string(recipient.locale ?? "")
        variables["timezone"] = .string(recipient.timezone ?? "")
        variables["tags"] = .array(recipient.tags.map(JSONValue.string))
        return variables
    }

    /// The text for a recipient in its locale (falling back as templates do), and the locale used.
    public func render(_ recipient: Recipient, phone: String) throws -> (String, String?) {
        let resolved = try TemplateRules.resolve(locale: recipient.locale, translations: template.translations)
        guard let source = compiled[resolved ?? ""] else { throw HeraldError(.templateNotFound, "the template changed") }
        do {
            return (try source.render(Self.variables(of: recipient, phone: phone), maximumLength: TemplateRules.maximumLength), resolved)
        } catch {
            throw TemplateRules.heraldError(error, field: resolved.map { "translations.\($0)" } ?? "body")
        }
    }
}
