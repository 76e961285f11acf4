import Foundation
import Herald
import HTTPTypes
import Hummingbird
import NIOCore

/// `/v1/imports*` (scope `contacts`): CSV imports of contacts.
struct ImportRoutes {
    let imports: ImportService
    let auditor: Auditor

    struct ImportBody: Encodable {
        struct RowErrorBody: Encodable {
            let line: Int
            @Nullable var field: String?
            let message: String
        }
        let id: String
        let status: String
        @Nullable var country: String?
        let tags: [String]
        let totalRows: Int
        let imported: Int
        let updated: Int
        let unchanged: Int
        let rejected: Int
        let errors: [RowErrorBody]
        @Nullable var failure: String?
        let createdAt: Date
        @Nullable var finishedAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, status, country, tags, imported, updated, unchanged, rejected, errors, failure
            case totalRows = "total_rows", createdAt = "created_at", finishedAt = "finished_at"
        }

        init(_ record: ContactImportRecord) {
            id = record.id.wire
            status = record.status.rawValue
            country = record.country
            tags = record.tags
            totalRows = record.totalRows
            imported = record.imported
            updated = record.updated
            unchanged = record.unchanged
            rejected = record.rejected
            errors = record.errors.map { RowErrorBody(line: $0.line, field: $0.field, message: $0.message) }
            failure = record.failure
            createdAt = record.createdAt
            finishedAt = record.finishedAt
        }
    }

    func register(on router: RouteRegistrar) {
        // The body is read as it arrives and never held whole.
        router.post("/v1/imports") { request, context in
            let principal = try context.require(.contacts, write: true)
            let contentType = request.headers[.contentType]?.lowercased() ?? ""
            guard contentType.hasPrefix("text/csv") || contentType.hasPrefix("application/csv") else {
                throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                               message: "send the file as text/csv with a Content-Type header")
            }
            let query = request.uri.queryParameters
            let tags = query["tags"].map { $0.split(separator: ",").map(String.init) } ?? []
            let options = ImportService.Options(country: query["country"].map(String.init), tags: tags, actor: principal.actorLabel)
            let chunks = request.body.map { Array($0.readableBytesView) }
            let record = try await imports.run(chunks, options: options)
            await auditor.record(request, context, "import.create", AuditTarget("import", id: record.id), after: ImportBody(record))
            return try JSON.response(ImportBody(record), status: .accepted)
        }
        router.get("/v1/imports") { request, context in
            try context.require(.contacts, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await imports.records(limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(ImportBody.init), nextCursor: page.nextCursor))
        }
        router.get("/v1/imports/{id}") { _, context in
            try context.require(.contacts, write: false)
            return try JSON.response(ImportBody(try await imports.record(id: try context.parameters.uuid("id", what: "import"))))
        }
    }
}
