import Hummingbird
import Logging

/// Serves the dashboard from `web/` for plain GET/HEAD paths, and only for those: API
/// paths, and paths with `..`, `%` escapes or control characters never touch the file
/// system and fall through to the router (a 404 there).
struct StaticFilesMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    let files: FileMiddleware<HeraldRequestContext, LocalFileSystem>

    init(directory: String, logger: Logger) {
        files = FileMiddleware(
            directory, cacheControl: .init([(MediaType(type: .text, subType: "html"), [.noCache])]),
            searchForIndexHtml: true, logger: logger)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method == .get || request.method == .head, Self.isPlainFilePath(path) else {
            return try await next(request, context)
        }
        return try await files.handle(request, context: context, next: next)
    }

    static func isPlainFilePath(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.hasPrefix("/v1/"), !path.hasPrefix("/auth/"), path.utf8.count <= 256 else { return false }
        return path.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "\\")
        } && !path.split(separator: "/").contains { $0 == ".." || $0 == "." }
    }
}
