import Foundation
import Postgres
import Testing

@Suite("Building queries")
struct QueryTests {
    @Test("interpolated values become numbered placeholders, never SQL text")
    func placeholders() {
        let email = "ann@example.com'; DROP TABLE users; --"
        let id = 42
        let query: PostgresQuery = "SELECT * FROM users WHERE email = \(email) AND id = \(id)"
        #expect(query.sql == "SELECT * FROM users WHERE email = $1 AND id = $2")
        #expect(query.bindings.count == 2)
        #expect(query.bindings.dataTypes == [.text, .int8])
        #expect(!query.sql.contains("DROP"))
    }

    @Test("a literal without interpolation has no bindings")
    func literal() {
        let query: PostgresQuery = "SELECT 1"
        #expect(query.sql == "SELECT 1")
        #expect(query.bindings.count == 0)
    }

    @Test("an interpolated query fragment is renumbered after the outer placeholders")
    func composition() {
        let status = "queued"
        let priority = 5
        let condition: PostgresQuery = "status = \(status) AND priority > \(priority)"
        let listID = 7
        let query: PostgresQuery = "SELECT id FROM messages WHERE list_id = \(listID) AND \(condition) LIMIT \(100)"
        #expect(query.sql == "SELECT id FROM messages WHERE list_id = $1 AND status = $2 AND priority > $3 LIMIT $4")
        #expect(query.bindings.count == 4)
        #expect(query.bindings.dataTypes == [.int8, .text, .int8, .int8])
    }

    @Test("renumbering leaves $n inside literals, quoted identifiers, dollar quotes and comments alone")
    func renumberingSkipsLiterals() {
        let fragment = PostgresQuery(
            unsafeSQL: "a = $1 AND b = '$1' AND \"c$1\" = $2 AND d = $$ $1 $$ AND e = $tag$ $2 $tag$ -- $1\n AND f$1 = $1 /* $2 */",
            bindings: {
                var bindings = PostgresBindings()
                bindings.append(1)
                bindings.append(2)
                return bindings
            }()
        )
        let query: PostgresQuery = "SELECT \(0) WHERE \(fragment)"
        #expect(query.sql == "SELECT $1 WHERE a = $2 AND b = '$1' AND \"c$1\" = $3 AND d = $$ $1 $$ AND e = $tag$ $2 $tag$ -- $1\n AND f$1 = $2 /* $2 */")
        #expect(query.bindings.count == 3)
    }

    @Test("unsafeSQL splices static text as is")
    func unsafeSQL() {
        let limit = 10
        let query: PostgresQuery = "SELECT * FROM contacts \(unsafeSQL: "ORDER BY created_at DESC") LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM contacts ORDER BY created_at DESC LIMIT $1")
        #expect(query.bindings.count == 1)
    }

    @Test("printing a query redacts every bound value")
    func redactedDescription() {
        let phone = "+15551234567"
        let code = "493817"
        let query: PostgresQuery = "UPDATE verifications SET code_hash = \(code) WHERE phone = \(phone)"
        for printed in [query.description, query.debugDescription, "\(query)", String(reflecting: query)] {
            #expect(!printed.contains(phone))
            #expect(!printed.contains(code))
            #expect(printed.contains("****"))
            #expect(printed.contains("UPDATE verifications SET code_hash = $1 WHERE phone = $2"))
        }
        #expect(query.description == "UPDATE verifications SET code_hash = $1 WHERE phone = $2 [****, ****]")
    }

    @Test("NULL bindings come from optionals")
    func optionalBinding() {
        let missing: String? = nil
        let query: PostgresQuery = "INSERT INTO t (a) VALUES (\(missing))"
        #expect(query.sql == "INSERT INTO t (a) VALUES ($1)")
        #expect(query.bindings.dataTypes == [.text])
    }
}
