import HTTPTypes
import Hummingbird
import Synchronization

/// Registers routes on the router and remembers each (path, method), so an unknown method
/// on a known path answers 405 with `Allow` instead of 404.
final class RouteRegistrar {
    let router: Router<HeraldRequestContext>
    let table: RouteTable

    init(router: Router<HeraldRequestContext>, table: RouteTable) {
        self.router = router
        self.table = table
    }

    func on(
        _ method: HTTPRequest.Method, _ path: String,
        use handler: @Sendable @escaping (Request, HeraldRequestContext) async throws -> Response
    ) {
        router.on(RouterPath(path), method: method, use: handler)
        table.add(path: path, method: method)
    }

    func get(_ path: String, use handler: @Sendable @escaping (Request, HeraldRequestContext) async throws -> Response) { on(.get, path, use: handler) }
    func post(_ path: String, use handler: @Sendable @escaping (Request, HeraldRequestContext) async throws -> Response) { on(.post, path, use: handler) }
    func patch(_ path: String, use handler: @Sendable @escaping (Request, HeraldRequestContext) async throws -> Response) { on(.patch, path, use: handler) }
    func delete(_ path: String, use handler: @Sendable @escaping (Request, HeraldRequestContext) async throws -> Response) { on(.delete, path, use: handler) }
}

/// The registered paths and methods, matched against request paths. Filled while routes
/// are registered (after the middleware that reads it is built), read on every 404.
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [String], method: HTTPRequest.Method)]>([])

    init() {}

    func add(path: String, method: HTTPRequest.Method) {
        routes.withLock {
            $0.append((Self.segments(path), method))
            // Hummingbird answers HEAD from the GET handler; Allow should say so.
            if method == .get { $0.append((Self.segments(path), .head)) }
        }
    }

    static func segments(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    static func isParameter(_ segment: String) -> Bool { segment.hasPrefix("{") || segment.hasPrefix(":") }

    /// Methods registered for the pattern matching `path` (`{id}` and `:id` match any segment).
    /// As in the router's trie, a literal segment wins over a parameter: `/v1/templates/preview`
    /// is that route only, not also `/v1/templates/{id}`.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = Self.segments(path)
        return routes.withLock { routes in
            let matching = routes.filter { route in
                route.segments.count == parts.count
                    && zip(route.segments, parts).allSatisfy { pattern, part in pattern == part || Self.isParameter(pattern) }
            }
            // Literal positions, compared left to right: the most specific pattern wins.
            let literals = { (segments: [String]) in segments.map { !Self.isParameter($0) } }
            guard let best = matching.map({ literals($0.segments) }).max(by: { $0.lexicographicallyPrecedes($1) { !$0 && $1 } }) else {
                return []
            }
            return matching.filter { literals($0.segments) == best }.map(\.method)
        }
    }
}
