import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes the connection after a response that says `Connection: close` — Herald sends it
/// with every 413 — without resetting it under the client.
///
/// A client that writes its whole body before it reads (Python's `requests`, curl without
/// `Expect`) would lose the 413 if the server simply closed: unread bytes arriving at a closed
/// socket make the kernel answer with a reset, and a reset throws away the response the client
/// has not read yet. So this does what nginx calls a lingering close: once the response is
/// written it shuts the write side (the client sees the end of the response), then reads and
/// discards what the client still sends — the rest of that body — and closes when the body
/// ends, when the client closes, or when ``lingerBytes`` or ``lingerTime`` run out, whichever
/// comes first. A client that never stops writing is cut off there.
final class CloseAfterResponseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// At most this many more bytes of body are read and dropped after the response.
    static let lingerBytes = 64 << 20
    /// At most this long is spent reading them.
    static let lingerTime = TimeAmount.seconds(10)

    private enum State {
        /// Passing everything through.
        case open
        /// A response head said `Connection: close`; its end has not been written yet.
        case closeAfterEnd
        /// The response is out and the write side shut; dropping what still arrives.
        case lingering(discarded: Int, deadline: Scheduled<Void>)
        case closed
    }

    private var state = State.open
    /// Whether the current request's body has been read to its end.
    private var requestEnded = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        switch (state, part) {
        case (.open, .head(let head)) where head.headerFields[.connection]?.lowercased() == "close":
            state = .closeAfterEnd
            context.write(data, promise: promise)
        case (.closeAfterEnd, .end):
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in
                self.linger(context: context)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .open, .closeAfterEnd:
            switch unwrapInboundIn(data) {
            case .head: requestEnded = false
            case .end: requestEnded = true
            case .body: break
            }
            context.fireChannelRead(data)
        case .lingering(let discarded, let deadline):
            switch unwrapInboundIn(data) {
            case .body(let buffer):
                let total = discarded + buffer.readableBytes
                if total > Self.lingerBytes {
                    close(context: context)
                } else {
                    state = .lingering(discarded: total, deadline: deadline)
                }
            case .end, .head:
                // The body is over (or a pipelined request began): nothing unread is left
                // that could turn the close into a reset.
                close(context: context)
            }
        case .closed:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .lingering = state, let event = event as? ChannelEvent, event == .inputClosed {
            close(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .lingering(_, let deadline) = state { deadline.cancel() }
        state = .closed
        context.fireChannelInactive()
    }

    private func linger(context: ChannelHandlerContext) {
        guard case .closeAfterEnd = state, context.channel.isActive else { return }
        // The whole request was read: nothing can be left to turn the close into a reset.
        if requestEnded { return close(context: context) }
        let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) {
            self.close(context: context)
        }
        state = .lingering(discarded: 0, deadline: deadline)
        // Half-close: the client reads the end of the response while its writes still land.
        context.close(mode: .output).assumeIsolated().whenFailure { _ in
            self.close(context: context)
        }
    }

    private func close(context: ChannelHandlerContext) {
        if case .lingering(_, let deadline) = state { deadline.cancel() }
        guard !isClosed else { return }
        state = .closed
        context.close(promise: nil)
    }

    private var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }
}
