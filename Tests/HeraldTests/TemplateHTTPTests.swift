import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import NIOCore
import SMS
import Testing

@Suite("Templates over HTTP and for the message service")
struct TemplateHTTPTests {
    @Test("create, list, get, patch and delete a template")
    func lifecycle() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"]) + jsonHeaders
            try await herald.test { client in
                let id = try await client.execute(
                    uri: "/v1/templates", method: .post, headers: auth,
                    body: jsonBody([
                        "name": "order_shipped", "channel": "sms", "kind": "transactional",
                        "body": "Hi {{first_name}}, order {{order.id}} is on its way.",
                        "translations": ["de": "Hallo {{first_name}}, Bestellung {{order.id}} ist unterwegs.",
                                         "de-at": "Servus {{first_name}}! {{#vip}}VIP{{/vip}}"],
                    ])
                ) { response in
                    #expect(response.status == .created)
                    let json = response.json
                    #expect(json["name"] as? String == "order_shipped")
                    #expect(json["channel"] as? String == "sms")
                    #expect(json["kind"] as? String == "transactional")
                    #expect(json["variables"] as? [String] == ["first_name", "order.id", "vip"])
                    #expect(json["encoding"] as? String == "GSM-7")
                    #expect(json["segments"] as? Int == 1)
                    #expect(json["characters"] as? Int == 52)
                    let translations = json["translations"] as? [String: String]
                    #expect(translations?.keys.sorted() == ["de", "de-AT"], "locale keys are canonical and not snake_cased")
                    #expect(json["created_at"] is String && json["updated_at"] is String)
                    return json["id"] as! String
                }

                try await client.execute(uri: "/v1/templates", method: .get, headers: auth) { response in
                    #expect(response.status == .ok)
                    let data = response.json["data"] as? [[String: Any]]
                    #expect(data?.map { $0["id"] as? String } == [id])
                    #expect(response.json.keys.contains("next_cursor"))
                    #expect(response.json["next_cursor"] is NSNull)
                }
                try await client.execute(uri: "/v1/templates/\(id)", method: .get, headers: auth) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["body"] as? String == "Hi {{first_name}}, order {{order.id}} is on its way.")
                }

                // A merge patch: the body changes, `de` is replaced, `de-AT` removed, `fr` added; the rest stays.
                try await client.execute(
                    uri: "/v1/templates/\(id)", method: .patch, headers: auth,
                    body: jsonBody([
                        "body": "Hi {{first_name}}, your order ships today – {{eta}}.",
                        "translations": ["DE": "Hallo {{first_name}}", "de-AT": NSNull(), "fr": "Bonjour {{first_name}}"],
                    ])
                ) { response in
                    #expect(response.status == .ok)
                    let json = response.json
                    #expect(json["name"] as? String == "order_shipped")
                    #expect(json["kind"] as? String == "transactional")
                    #expect(json["translations"] as? [String: String] == ["de": "Hallo {{first_name}}", "fr": "Bonjour {{first_name}}"])
                    #expect(json["variables"] as? [String] == ["first_name", "eta"])
                    #expect(json["encoding"] as? String == "UCS-2", "the en dash is not GSM-7")
                }
                try await client.execute(
                    uri: "/v1/templates/\(id)", method: .patch, headers: auth,
                    body: jsonBody(["name": "order_shipped_v2", "kind": "marketing", "translations": NSNull()])
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["name"] as? String == "order_shipped_v2")
                    #expect(response.json["kind"] as? String == "marketing")
                    #expect(response.json["translations"] as? [String: String] == [:])
                }
                try await client.execute(uri: "/v1/templates/\(id)", method: .patch, headers: auth, body: jsonBody([String: String]())) { response in
                    #expect(response.status == .ok, "an empty patch changes nothing")
                }

                try await client.execute(uri: "/v1/templates/\(id)", method: .delete, headers: auth) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/v1/templates/\(id)", method: .get, headers: auth) { response in
                    #expect(response.status == .notFound)
                    #expect(response.errorCode == "not_found")
                }
                try await client.execute(uri: "/v1/templates/\(id)", method: .delete, headers: auth) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/v1/templates/\(id)", method: .patch, headers: auth, body: jsonBody(["kind": "marketing"])) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/v1/templates/preview", method: .get, headers: auth) { response in
                    #expect(response.status == .methodNotAllowed, "the literal route wins over {id}")
                    #expect(response.headers[.allow] == "POST")
                }
                for bad in ["not-a-uuid", "%00", String(repeating: "9", count: 300)] {
                    try await client.execute(uri: "/v1/templates/\(bad)", method: .get, headers: auth) { response in
                        #expect(response.status == .notFound, "\(bad)")
                    }
                }
            }
        }
    }

    @Test("templates need the campaigns scope: 401 without a key, 403 with another scope")
    func scopes() async throws {
        try await TestHerald.with { herald in
            let messagesOnly = try await herald.bearer(["messages"]) + jsonHeaders
            let admin = try await herald.bearer(["admin"]) + jsonHeaders
            let create = jsonBody(["name": "welcome", "body": "Welcome!"])
            try await herald.test { client in
                try await client.execute(uri: "/v1/templates", method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
                try await client.execute(uri: "/v1/templates", method: .get, headers: messagesOnly) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorCode == "forbidden")
                }
                try await client.execute(uri: "/v1/templates", method: .post, headers: messagesOnly, body: create) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: messagesOnly, body: jsonBody(["body": "x"])
                ) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/v1/templates", method: .post, headers: admin, body: create) { response in
                    #expect(response.status == .created, "admin implies campaigns")
                    #expect(response.json["channel"] as? String == "sms", "channel defaults to sms")
                    #expect(response.json["kind"] as? String == "transactional", "kind defaults to transactional")
                }
                try await client.execute(uri: "/v1/templates", method: .put, headers: admin, body: create) { response in
                    #expect(response.status == .methodNotAllowed)
                }
            }
        }
    }

    @Test("broken Mustache is invalid_template with the position and the field")
    func invalidTemplate() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"]) + jsonHeaders
            try await herald.test { client in
                try await client.execute(
                    uri: "/v1/templates", method: .post, headers: auth,
                    body: jsonBody(["name": "broken", "body": "Hi {{first_name},\nsee you"])
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorCode == "invalid_template")
                    #expect(response.errorField == "body")
                    let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("line 1, column 4"), "\(message)")
                }
                try await client.execute(
                    uri: "/v1/templates", method: .post, headers: auth,
                    body: jsonBody(["name": "broken", "body": "ok", "translations": ["de": "ok", "fr": "Salut\n{{#vip}}VIP"]])
                ) { response in
                    #expect(response.errorCode == "invalid_template")
                    #expect(response.errorField == "translations.fr")
                    let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains("line 2, column 1") && message.contains("'vip' is never closed"), "\(message)")
                }
                let id = try await client.execute(
                    uri: "/v1/templates", method: .post, headers: auth, body: jsonBody(["name": "fine", "body": "Hi {{name}}"])
                ) { response in response.json["id"] as! String }
                try await client.execute(
                    uri: "/v1/templates/\(id)", method: .patch, headers: auth, body: jsonBody(["translations": ["es": "{{/x}}"]])
                ) { response in
                    #expect(response.errorCode == "invalid_template")
                    #expect(response.errorField == "translations.es")
                }
                try await client.execute(uri: "/v1/templates/\(id)", method: .get, headers: auth) { response in
                    #expect(response.json["translations"] as? [String: String] == [:], "a refused patch changes nothing")
                }
            }
        }
    }

    @Test("names are unique: 409 on create and on rename")
    func duplicateName() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"]) + jsonHeaders
            try await herald.test { client in
                try await client.execute(uri: "/v1/templates", method: .post, headers: auth, body: jsonBody(["name": "a", "body": "A"])) { response in
                    #expect(response.status == .created)
                }
                try await client.execute(uri: "/v1/templates", method: .post, headers: auth, body: jsonBody(["name": "a", "body": "B"])) { response in
                    #expect(response.status == .conflict)
                    #expect(response.errorCode == "already_exists")
                    #expect(response.errorField == "name")
                }
                let b = try await client.execute(uri: "/v1/templates", method: .post, headers: auth, body: jsonBody(["name": "b", "body": "B"])) { response in
                    response.json["id"] as! String
                }
                try await client.execute(uri: "/v1/templates/\(b)", method: .patch, headers: auth, body: jsonBody(["name": "a"])) { response in
                    #expect(response.status == .conflict)
                    #expect(response.errorCode == "already_exists")
                }
            }
        }
    }

    @Test("every field is validated, naming the field; bad JSON is invalid_json")
    func validation() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"]) + jsonHeaders
            let raw: [(Any, String?)] = [
                (["name": "Order", "body": "x"], "name"),
                (["name": "", "body": "x"], "name"),
                (["name": "-x", "body": "x"], "name"),
                (["name": String(repeating: "a", count: 101), "body": "x"], "name"),
                (["name": "a b", "body": "x"], "name"),
                (["name": "x", "channel": "fax", "body": "x"], "channel"),
                (["name": "x", "kind": "spam", "body": "x"], "kind"),
                (["name": "x", "body": ""], "body"),
                (["name": "x", "body": "  \n "], "body"),
                (["name": "x", "body": String(repeating: "a", count: 1601)], "body"),
                (["name": "x", "body": "a\u{0}b"], "body"),
                (["name": "x", "body": 5], "body"),
                (["name": "x"], "body"),
                (["name": "x", "body": "x", "translations": ["deutsch": "x"]], "translations.deutsch"),
                (["name": "x", "body": "x", "translations": ["de": "x", "DE": "y"]], "translations.de"),
                (["name": "x", "body": "x", "translations": ["de": NSNull()]], "translations.de"),
                (["name": "x", "body": "x", "translations": ["de": ""]], "translations.de"),
                (["name": "x", "body": "x", "translations": ["de": 1]], "translations.de"),
                (["name": "x", "body": "x", "translations": "de"], "translations"),
                ([1, 2], nil),
            ]
            let patches = ([(["name": NSNull()], "name"), (["body": NSNull()], "body"), (["body": 1], "body"),
                            (["translations": ["x-y": "z"]], "translations.x-y"), (["channel": "fax"], "channel")] as [([String: Any], String)])
                .map { (jsonBody($0.0), $0.1) }
            let cases = raw.map { (body: jsonBody($0.0), label: "\($0.0)".prefix(120), field: $0.1) }
            try await herald.test { client in
                for (body, label, field) in cases {
                    try await client.execute(uri: "/v1/templates", method: .post, headers: auth, body: body) { response in
                        #expect(response.status == .badRequest, "\(label)")
                        #expect(response.errorCode == "validation_failed", "\(label)")
                        #expect(response.errorField == field, "\(label): \(response.text)")
                    }
                }
                #expect(try await client.execute(
                    uri: "/v1/templates", method: .post, headers: auth, body: jsonBody(["name": "x", "body": String(repeating: "é", count: 1600)])
                ) { $0.status } == .created, "1600 characters fit")
                for raw in ["{", "", "nope", "{\"name\": \"x\", \"body\": \"x\""] {
                    try await client.execute(uri: "/v1/templates", method: .post, headers: auth, body: ByteBuffer(string: raw)) { response in
                        #expect(response.status == .badRequest)
                        #expect(response.errorCode == "invalid_json", "\(raw)")
                    }
                }
                let id = try await client.execute(
                    uri: "/v1/templates", method: .post, headers: auth, body: jsonBody(["name": "y", "body": "y"])
                ) { $0.json["id"] as! String }
                for (patch, field) in patches {
                    try await client.execute(uri: "/v1/templates/\(id)", method: .patch, headers: auth, body: patch) { response in
                        #expect(response.status == .badRequest, "\(field)")
                        #expect(response.errorField == field, "\(field): \(response.text)")
                    }
                }
                try await client.execute(uri: "/v1/templates?limit=0", method: .get, headers: auth) { response in
                    #expect(response.errorField == "limit")
                }
                try await client.execute(uri: "/v1/templates?cursor=zzz", method: .get, headers: auth) { response in
                    #expect(response.errorField == "cursor")
                }
            }
        }
    }

    @Test("marketing templates count the opt-out footer; preview fills a contact's data and locale and appends the footer")
    func footerAndContactPreview() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"])
            let (contact, _) = try await herald.core.contacts.upsert(
                ContactInput(phone: "+4915112345678", firstName: "Jonas", locale: "de-AT", attributes: ["plan": .string("pro")]),
                source: "api", actor: nil)
            try await herald.test { client in
                // 150 GSM-7 characters: one part alone, two with the footer.
                let long = String(repeating: "a", count: 150)
                let created = try await client.execute(uri: "/v1/templates", method: .post, headers: auth,
                                                       body: jsonBody(["name": "promo", "kind": "marketing", "body": long]))
                #expect(created.json["footer"] as? String == "Reply STOP to opt out")
                #expect(created.json["segments"] as? Int == 2 && created.json["characters"] as? Int == 172)
                let saysStop = try await client.execute(uri: "/v1/templates", method: .post, headers: auth,
                                                        body: jsonBody(["name": "promo2", "kind": "marketing", "body": "Sale! Text STOP to stop"]))
                #expect(saysStop.json["footer"] is NSNull && saysStop.json["segments"] as? Int == 1)
                let plain = try await client.execute(uri: "/v1/templates", method: .post, headers: auth,
                                                     body: jsonBody(["name": "plain", "body": long]))
                #expect(plain.json["footer"] is NSNull && plain.json["segments"] as? Int == 1, "transactional: no footer")

                let preview = try await client.execute(uri: "/v1/templates/preview", method: .post, headers: auth, body: jsonBody([
                    "body": "Hi {{first_name}}", "translations": ["de": "Hallo {{first_name}}, dein {{plan}}-Angebot"],
                    "contact_id": contact.id.uuidString, "kind": "marketing"]))
                #expect(preview.status == .ok)
                #expect(preview.json["text"] as? String == "Hallo Jonas, dein pro-Angebot\nReply STOP to opt out")
                #expect(preview.json["locale"] as? String == "de" && preview.json["footer_added"] as? Bool == true)
                let given = try await client.execute(uri: "/v1/templates/preview", method: .post, headers: auth, body: jsonBody([
                    "body": "Hi {{first_name}}", "contact_id": contact.id.uuidString, "variables": ["first_name": "Anna"]]))
                #expect(given.json["text"] as? String == "Hi Anna" && given.json["footer_added"] as? Bool == false)
                for (body, field) in [(["body": "x", "contact_id": UUID().uuidString], "contact_id"), (["body": "x", "contact_id": "1"], "contact_id"),
                                      (["body": "x", "kind": "spam"], "kind")] {
                    let bad = try await client.execute(uri: "/v1/templates/preview", method: .post, headers: auth, body: jsonBody(body))
                    #expect(bad.status == .badRequest && bad.errorField == field)
                }
            }
        }
    }

    @Test("lists page newest first without repeats")
    func pagination() async throws {
        try await TestHerald.with { herald in
            for index in 0..<7 { _ = try await herald.templates.create(TemplateInput(name: "t\(index)", body: "Body \(index)")) }
            let auth = try await herald.bearer(["campaigns"])
            try await herald.test { client in
                var seen: [String] = []
                var cursor: String? = nil
                repeat {
                    let uri = "/v1/templates?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                    cursor = try await client.execute(uri: uri, method: .get, headers: auth) { response in
                        let data = response.json["data"] as! [[String: Any]]
                        seen += data.map { $0["name"] as! String }
                        return response.json["next_cursor"] as? String
                    }
                } while cursor != nil
                #expect(seen == ["t6", "t5", "t4", "t3", "t2", "t1", "t0"])
            }
        }
    }

    @Test("preview: rendered text, GSM-7 or UCS-2, segments, and the smart-character form")
    func preview() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"]) + jsonHeaders
            try await herald.test { client in
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: jsonBody(["body": "Hi {{name}}, you have {{points}} points & {{ratio}}% off. {{#vip}}VIP!{{/vip}}",
                                    "variables": ["name": "Tom & Jerry", "points": 3, "ratio": 12.5, "vip": true]])
                ) { response in
                    #expect(response.status == .ok)
                    let json = response.json
                    #expect(json["text"] as? String == "Hi Tom & Jerry, you have 3 points & 12.5% off. VIP!")
                    #expect(json["encoding"] as? String == "GSM-7")
                    #expect(json["segments"] as? Int == 1)
                    #expect(json["characters"] as? Int == 51)
                    #expect(json["non_gsm_characters"] as? [String] == [])
                    #expect(json["smart_text"] as? String == json["text"] as? String)
                    #expect(json["replacements"] as? [[String: String]] == [])
                    #expect(json["variables"] as? [String] == ["name", "points", "ratio", "vip"])
                    #expect(json["locale"] is NSNull)
                }
                // Curly quotes force UCS-2; the smart form is GSM-7 again.
                let long = String(repeating: "a", count: 100)
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: jsonBody(["body": "It\u{2019}s {{name}}\u{2026} \(long)", "variables": ["name": "Zoë"]])
                ) { response in
                    let json = response.json
                    #expect(json["encoding"] as? String == "UCS-2")
                    #expect(json["segments"] as? Int == 2, "110 UCS-2 units need two parts")
                    #expect(json["non_gsm_characters"] as? [String] == ["\u{2019}", "ë", "\u{2026}"])
                    #expect(json["smart_text"] as? String == "It's Zoë... \(long)")
                    #expect(json["smart_encoding"] as? String == "UCS-2", "ë has no GSM-7 form")
                    #expect(json["replacements"] as? [[String: String]] == [["from": "\u{2019}", "to": "'"], ["from": "\u{2026}", "to": "..."]])
                }
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: jsonBody(["body": "It\u{2019}s \(long)"])
                ) { response in
                    #expect(response.json["encoding"] as? String == "UCS-2")
                    #expect(response.json["smart_encoding"] as? String == "GSM-7")
                    #expect(response.json["smart_segments"] as? Int == 1)
                }
                // Locale picks among the draft's translations.
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: jsonBody(["body": "Hi", "translations": ["de": "Hallo"], "locale": "de-AT"])
                ) { response in
                    #expect(response.json["text"] as? String == "Hallo")
                    #expect(response.json["locale"] as? String == "de")
                }
                // Errors.
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: jsonBody(["body": "Hi {{name}} {{order.id}}", "variables": ["name": "Mia", "order": [String: String]()]])
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorCode == "missing_variable")
                    #expect(response.errorField == "variables.order.id")
                }
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth, body: jsonBody(["body": "Hi {{#x}}"])
                ) { response in
                    #expect(response.errorCode == "invalid_template")
                }
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: jsonBody(["body": "Hi {{name}}", "variables": ["name": ["first": "Mia"]]])
                ) { response in
                    #expect(response.errorCode == "validation_failed")
                    #expect(response.errorField == "variables.name")
                }
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth, body: jsonBody(["body": "Hi", "locale": "not a locale"])
                ) { response in
                    #expect(response.errorField == "locale")
                }
            }
        }
    }

    @Test("hostile input is a 4xx, never a 5xx")
    func hostileInput() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"]) + jsonHeaders
            let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
            let bodies = [
                #"{"body": "{{n}}", "variables": {"n": 1e999}}"#,
                #"{"body": "{{n}}", "variables": {"n": -1e400}}"#,
                #"{"body": "{{n}}", "variables": {"n": 123456789012345678901234567890}}"#,
                #"{"body": "{{n}}", "variables": {"n": "#,
                #"{"body": "{{n}}", "variables": {"n": \#(deep)}}"#,
                #"{"body": "{{n}}", "variables": null, "locale": null, "translations": null}"#,
                #"{"body": "\ud800 {{n}}", "variables": {"n": "\udfff"}}"#,
                #"{"body": "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{.}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}", "variables": {"a": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}}"#,
                #"{"body": "\#(String(repeating: "{{#a}}", count: 300))"}"#,
                #"{"body": "x", "translations": {"\#(String(repeating: "a", count: 5000))": "x"}}"#,
                #"{"body": "x", "locale": "\#(String(repeating: "a-", count: 5000))"}"#,
            ]
            try await herald.test { client in
                for body in bodies {
                    try await client.execute(uri: "/v1/templates/preview", method: .post, headers: auth, body: ByteBuffer(string: body)) { response in
                        #expect((400..<500).contains(response.status.code) || response.status == .ok, "\(body.prefix(80)): \(response.status)")
                    }
                }
                try await client.execute(
                    uri: "/v1/templates", method: .post, headers: auth,
                    body: ByteBuffer(string: #"{"name": "x", "body": "x", "translations": {"de": "\u0000"}}"#)
                ) { response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }

    @Test("render for the message service: locale fallback de-AT → de → default, missing variables named")
    func render() async throws {
        try await TestHerald.with { herald in
            let template = try await herald.templates.create(TemplateInput(
                name: "parcel", kind: "marketing", body: "Your parcel {{id}} arrives {{day}}.",
                translations: ["de": "Ihr Paket {{id}} kommt am {{day}}.", "zh-Hant": "包裹 {{id}}"]))
            let values: [String: JSONValue] = ["id": "A-17", "day": "Monday"]

            let german = try await herald.templates.render(name: "parcel", variables: values, locale: "de-AT")
            #expect(german.text == "Ihr Paket A-17 kommt am Monday.")
            #expect(german.locale == "de")
            #expect(german.templateID == template.id)
            #expect(german.channel == .sms && german.kind == .marketing)
            #expect(german.measured.encoding == .gsm7)

            let chinese = try await herald.templates.render(name: "parcel", variables: values, locale: "zh_hant_tw")
            #expect(chinese.text == "包裹 A-17")
            #expect(chinese.locale == "zh-Hant")
            #expect(chinese.measured.encoding == .ucs2)

            for locale in [nil, "fr-FR", "en"] as [String?] {
                let fallback = try await herald.templates.render(name: "parcel", variables: values, locale: locale)
                #expect(fallback.text == "Your parcel A-17 arrives Monday.")
                #expect(fallback.locale == nil)
            }
            #expect(try await herald.templates.render(name: "PARCEL", variables: values, locale: nil).templateID == template.id)

            await #expect(throws: HeraldError(.missingVariable, "the template needs a value for 'day'", field: "variables.day")) {
                try await herald.templates.render(name: "parcel", variables: ["id": "A-17"], locale: "de")
            }
            await #expect(throws: HeraldError(.templateNotFound, "there is no template with this name", field: "template")) {
                try await herald.templates.render(name: "nope", variables: values, locale: nil)
            }
            do {
                _ = try await herald.templates.render(name: "parcel", variables: values, locale: "??")
                Issue.record("a bad locale is refused")
            } catch let error as HeraldError {
                #expect(error.code == .validationFailed && error.field == "locale")
            }
        }
    }
}
