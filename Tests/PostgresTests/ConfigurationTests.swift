import Foundation
import Postgres
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test("withDatabase rewrites a URI, keeping host, port, user, password and options")
    func uriWithDatabase() throws {
        let configuration = PostgresConfiguration(
            conninfo: "postgres://herald:s3cr%40t@db.example.com:6543/herald?sslmode=disable&application_name=api",
            connectTimeout: .seconds(3)
        )
        let other = configuration.withDatabase("herald_test_1")
        let options = try other.parsedOptions()
        #expect(options["host"] == "db.example.com")
        #expect(options["port"] == "6543")
        #expect(options["user"] == "herald")
        #expect(options["password"] == "s3cr@t")
        #expect(options["dbname"] == "herald_test_1")
        #expect(options["sslmode"] == "disable")
        #expect(options["application_name"] == "api")
        #expect(other.connectTimeout == .seconds(3))
    }

    @Test("withDatabase rewrites a key=value conninfo, quoting odd names")
    func conninfoWithDatabase() throws {
        let configuration = PostgresConfiguration(conninfo: "host=/run/postgresql port=5433 dbname=herald user='o\\'brien'")
        let options = try configuration.withDatabase("it's a db").parsedOptions()
        #expect(options["host"] == "/run/postgresql")
        #expect(options["port"] == "5433")
        #expect(options["user"] == "o'brien")
        #expect(options["dbname"] == "it's a db")
        #expect(try PostgresConfiguration(conninfo: "").withDatabase("x").parsedOptions() == ["dbname": "x"])
    }

    @Test("fromEnvironment prefers DATABASE_URL")
    func databaseURL() {
        let url = "postgres://u:p@localhost/herald"
        let configuration = PostgresConfiguration.fromEnvironment(["DATABASE_URL": url, "PGHOST": "/elsewhere"])
        #expect(configuration.conninfo == url)
    }

    @Test("fromEnvironment turns PG* variables into conninfo and PGCONNECT_TIMEOUT into the timeout")
    func pgVariables() throws {
        let configuration = PostgresConfiguration.fromEnvironment([
            "PGHOST": "/var/run/postgresql", "PGPORT": "5544", "PGUSER": "herald", "PGDATABASE": "sms",
            "PGPASSWORD": "hunter2", "PGSSLMODE": "prefer", "PGCONNECT_TIMEOUT": "4", "HOME": "/root",
        ])
        let options = try configuration.parsedOptions()
        #expect(options == [
            "host": "/var/run/postgresql", "port": "5544", "user": "herald", "dbname": "sms",
            "password": "hunter2", "sslmode": "prefer", "connect_timeout": "4",
        ])
        #expect(configuration.connectTimeout == .seconds(4))
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description.contains("****"))
        #expect(PostgresConfiguration.fromEnvironment([:]).conninfo == "")
        #expect(PostgresConfiguration.fromEnvironment(["DATABASE_URL": ""]).conninfo == "")
    }

    @Test("a conninfo libpq cannot parse is .invalidConfiguration, and connecting with it fails")
    func invalid() async throws {
        let configuration = PostgresConfiguration(conninfo: "host=localhost nonsense_keyword=1")
        #expect(throws: PostgresError.self) { try configuration.parsedOptions() }
        do {
            _ = try configuration.parsedOptions()
        } catch let error as PostgresError {
            #expect(error.code == .invalidConfiguration)
        }
        let error = await expectPostgresError { _ = try await PostgresConnection.connect(configuration, logger: quietLogger) }
        #expect(error?.code == .connectionFailed)
    }

    @Test("a configuration prints without its password")
    func redactedPassword() {
        let configuration = PostgresConfiguration(conninfo: "postgres://herald:topsecret@db/herald")
        #expect(!configuration.description.contains("topsecret"))
        #expect(!String(describing: configuration).contains("topsecret"))
    }
}
