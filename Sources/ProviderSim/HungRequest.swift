import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// Holds a request unanswered until its client leaves, the timeout passes, the task is
/// cancelled or the simulator shuts down, whichever comes first. Only this request's task
/// waits; nothing blocks a thread.
enum HungRequest {
    static func hold(channel: any Channel, timeout: Duration) async {
        let gate = Gate()
        let watcher = DisconnectWatcher(gate: gate)
        channel.closeFuture.whenComplete { _ in gate.open() }
        let installed = (try? await channel.pipeline.addHandler(watcher, position: .first).get()) != nil
        if !installed || !channel.isActive { gate.open() }
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
        if installed, channel.isActive { _ = try? await channel.pipeline.removeHandler(watcher).get() }
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

/// Notices the client going away: the server allows half-closure, so a client that gives up
/// first shows as `inputClosed`, not as the channel closing.
final class DisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private let gate: Gate

    init(gate: Gate) { self.gate = gate }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { gate.open() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        gate.open()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        gate.open()
        context.fireErrorCaught(error)
    }
}
