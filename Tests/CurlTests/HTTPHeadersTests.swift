import Curl
import Testing

@Suite("HTTPHeaders")
struct HTTPHeadersTests {
    @Test("lookups ignore case and return the first value; values keep order")
    func lookup() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain", "X-A": "1"]
        headers.add(name: "x-a", value: "2")
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["CONTENT-TYPE"] == "text/plain")
        #expect(headers["X-a"] == "1")
        #expect(headers.values("X-A") == ["1", "2"])
        #expect(headers["missing"] == nil)
        #expect(headers.values("missing").isEmpty)
        #expect(headers["Content-Typf"] == nil)
        #expect(headers["Content-Typ"] == nil)
        // '@' (0x40) and '`' (0x60) differ by the case bit but are not letters.
        #expect(headers["X-@"] == nil)
    }

    @Test("replaceOrAdd keeps the first position and drops the other fields of that name")
    func replaceOrAdd() {
        var headers = HTTPHeaders()
        headers.add(name: "A", value: "1")
        headers.add(name: "B", value: "2")
        headers.add(name: "a", value: "3")
        headers.replaceOrAdd(name: "A", value: "9")
        #expect(headers.map(\.name) == ["A", "B"])
        #expect(headers.map(\.value) == ["9", "2"])
        headers.replaceOrAdd(name: "C", value: "4")
        #expect(headers.map(\.name) == ["A", "B", "C"])
        headers.remove(name: "b")
        #expect(headers.count == 2)
    }

    @Test("description lists names only")
    func description() {
        let headers: HTTPHeaders = ["Authorization": "Bearer secret"]
        #expect("\(headers)" == "[Authorization]")
    }

    @Test("request defaults: GET, 30 s total, 10 s to connect; description shows method and host only")
    func requestDefaults() {
        let request = HTTPRequest(url: "https://user:pw@api.example.com:8443/v1/send?key=secret")
        #expect(request.method == .GET)
        #expect(request.timeout == .seconds(30))
        #expect(request.connectTimeout == .seconds(10))
        #expect(request.body == nil)
        #expect(request.basicAuth == nil)
        #expect("\(request)" == "GET api.example.com:8443")
    }
}
