import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Holds a request unanswered until its client leaves, the timeout passes, the task is
/// cancelled or the simulator shuts down, whichever comes first. Only this request's task
/// waits; nothing blocks a thread.
enum HungRequest {
    static func hold(channel: any Channel, timeout: Duration) async {
        let gate = Gate()
        channel.closeFuture.whenComplete { _ in gate.open() }
        // The connection's watcher has been listening since the connection opened, so a client that left before
        // this request began to hold (its end of input arrived with the request) is already known to be gone.
        guard let watch = try? await channel.pipeline.handler(type: ConnectionWatch.self).get() else { return }
        let token = watch.notify(gate)
        if !channel.isActive { gate.open() }
        let (seconds, attoseconds) = timeout.components
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
            gate.open()
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await gate.wait()
            } onCancel: {
                gate.open()
            }
        } onGracefulShutdown: {
            gate.open()
        }
        timer.cancel()
        watch.forget(token)
    }
}

/// Opens once; `wait()` returns after it opened.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func open() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.isOpen = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.isOpen { return true }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

/// Notices the client going away, for the whole life of a connection: the server allows half-closure, so a client
/// that gives up first shows as `inputClosed`, not as the channel closing. A request held later asks it to open a
/// gate then, or at once when the client has already gone.
final class ConnectionWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private struct State {
        var gone = false
        var next = 0
        var gates: [Int: Gate] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Opens `gate` when the client leaves (now, if it already has); returns a token for `forget`.
    func notify(_ gate: Gate) -> Int {
        let (token, gone) = state.withLockedValue { state -> (Int, Bool) in
            state.next += 1
            if !state.gone { state.gates[state.next] = gate }
            return (state.next, state.gone)
        }
        if gone { gate.open() }
        return token
    }

    func forget(_ token: Int) {
        _ = state.withLockedValue { $0.gates.removeValue(forKey: token) }
    }

    private func clientLeft() {
        let gates = state.withLockedValue { state -> [Gate] in
            state.gone = true
            defer { state.gates = [:] }
            return Array(state.gates.values)
        }
        for gate in gates { gate.open() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { clientLeft() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientLeft()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        clientLeft()
        context.fireErrorCaught(error)
    }
}
