import Foundation
import LinuxSystem
import Logging
import Synchronization
import Testing
import TestSupport
@testable import ReferralRouter

/// JournalLogHandler against a real datagram socket: the entry journald would receive.
struct JournalLogHandlerTests {
    /// A handler writing to a socket in a fresh temporary directory, and that socket.
    private func journal() throws -> (handler: JournalLogHandler, socket: BoundDatagramSocket, directory: String) {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "journal")
        let socket = try BoundDatagramSocket(path: directory + "/socket")
        let writer = try JournalWriter(socketPath: socket.address)
        return (JournalLogHandler(writer: writer, label: "referral-router", level: .debug), socket, directory)
    }

    private func value(_ name: String, in fields: [(name: String, value: String)]) -> String? {
        fields.first { $0.name == name }?.value
    }

    @Test func aDeliveredEventCarriesItsMessageIDPriorityAndFieldsUpperCased() throws {
        let (handler, socket, directory) = try journal()
        defer { TestPaths.removeDirectory(directory) }
        let logger = Logger(label: "referral-router") { _ in handler }
        logger.record(.delivered(referralId: "4cf9da92-a435-405a-a97c-92a0152e6dc5", destination: "la-front-door",
                                 attempt: 2, httpStatus: 202, latencyMilliseconds: 840))
        let fields = try #require(socket.receiveJournalEntry())

        #expect(fields.prefix(3).map(\.name) == ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"])
        #expect(value("MESSAGE", in: fields) == "Referral delivered. attempt=2 destination=la-front-door event=delivered http_status=202 latency_ms=840 outcome=delivered referral_id=4cf9da92-a435-405a-a97c-92a0152e6dc5")
        #expect(value("PRIORITY", in: fields) == "6")
        #expect(value("SYSLOG_IDENTIFIER", in: fields) == "referral-router")
        #expect(value("MESSAGE_ID", in: fields) == MessageID.delivered.id)
        #expect(value("REFERRAL_ID", in: fields) == "4cf9da92-a435-405a-a97c-92a0152e6dc5")
        #expect(value("DESTINATION", in: fields) == "la-front-door")
        #expect(value("ATTEMPT", in: fields) == "2")
        #expect(value("HTTP_STATUS", in: fields) == "202")
        #expect(value("OUTCOME", in: fields) == "delivered")
        #expect(value("EVENT", in: fields) == "delivered")
        #expect(value("LATENCY_MS", in: fields) == "840")
        #expect(value("CODE_FILE", in: fields)?.hasSuffix(".swift") == true)
        #expect(value("CODE_LINE", in: fields).flatMap(Int.init) != nil)
        #expect(value("CODE_FUNC", in: fields) != nil)
    }

    @Test func everyPipelineEventGetsItsFixedMessageID() throws {
        let (handler, socket, directory) = try journal()
        defer { TestPaths.removeDirectory(directory) }
        let logger = Logger(label: "referral-router") { _ in handler }
        let events: [(PipelineEvent, MessageID, String)] = [
            (.received(referralId: "r1", agency: "oakfield-primary", outcome: .accepted, priority: .routine, deliveries: 2), .received, "6"),
            (.rejected(referralId: "r2", agency: "oakfield-primary", code: "format", issues: 1), .rejected, "5"),
            (.duplicate(referralId: "r3", agency: "oakfield-primary"), .duplicate, "5"),
            (.routed(referralId: "r4", agency: "oakfield-primary", destination: "school-dsl", rule: "R4"), .routed, "7"),
            (.retry(referralId: "r5", destination: "police-ppu", attempt: 1, httpStatus: 503, code: "http_503", delayMilliseconds: 1000), .retry, "5"),
            (.deadLettered(referralId: "r6", destination: "police-ppu", attempt: 9, httpStatus: 403, code: "http_403"), .deadLettered, "3"),
            (.alert(code: "breaker_open", destination: "police-ppu", message: "Destination paused."), .alert, "3"),
        ]
        for (event, id, priority) in events {
            logger.record(event)
            let fields = try #require(socket.receiveJournalEntry(), "no entry for \(event.name)")
            #expect(value("MESSAGE_ID", in: fields) == id.id, "\(event.name)")
            #expect(value("PRIORITY", in: fields) == priority, "\(event.name)")
            #expect(value("EVENT", in: fields) == event.name)
        }
    }

    @Test func lifecycleLinesGetTheirMessageIDsAndOtherLinesNone() throws {
        let (handler, socket, directory) = try journal()
        defer { TestPaths.removeDirectory(directory) }
        let logger = Logger(label: "referral-router") { _ in handler }
        logger.notice("Referral router started.", metadata: [LogKey.code: "started"])
        logger.notice("Configuration reloaded.", metadata: ["generation": "2", LogKey.code: "reloaded"])
        logger.error("Reload refused; the previous configuration stays in force: x", metadata: [LogKey.code: "reload_refused"])
        logger.notice("Referral router stopped.", metadata: [LogKey.code: "stopped"])
        logger.critical("Configuration refused; the router did not start.", metadata: [LogKey.code: "configuration"])
        logger.warning("Receipts could not be written; they will be retried.", metadata: [LogKey.code: "openat", LogKey.stage: "receipts"])

        let expected: [(MessageID?, String)] = [(.started, "5"), (.reloaded, "5"), (.reloadRefused, "3"), (.stopped, "5"), (.startRefused, "2"), (nil, "4")]
        for (id, priority) in expected {
            let fields = try #require(socket.receiveJournalEntry())
            #expect(value("MESSAGE_ID", in: fields) == id?.id)
            #expect(value("PRIORITY", in: fields) == priority)
        }
    }

    @Test func metadataKeysThatWouldClashWithJournalFieldsAreRenamed() throws {
        let (handler, socket, directory) = try journal()
        defer { TestPaths.removeDirectory(directory) }
        let logger = Logger(label: "referral-router") { _ in handler }
        // `priority` is the referral's priority, not the entry's syslog priority.
        logger.record(.received(referralId: "r1", agency: "riverside-medical", outcome: .accepted, priority: .immediate, deliveries: 3))
        logger.info("Odd keys.", metadata: ["message": "x", "_private": "y", "9lives": "z", "mesh.mailbox": "m", "": "e"])

        let received = try #require(socket.receiveJournalEntry())
        #expect(received.filter { $0.name == "PRIORITY" }.map(\.value) == ["6"])
        #expect(value("REFERRAL_PRIORITY", in: received) == "immediate")

        let odd = try #require(socket.receiveJournalEntry())
        #expect(odd.filter { $0.name == "MESSAGE" }.count == 1)
        #expect(value("REFERRAL_MESSAGE", in: odd) == "x")
        #expect(value("REFERRAL__PRIVATE", in: odd) == "y")
        #expect(value("REFERRAL_9LIVES", in: odd) == "z")
        #expect(value("MESH_MAILBOX", in: odd) == "m")
        #expect(odd.allSatisfy { !$0.name.isEmpty && $0.name.count <= 64 })
    }

    @Test func aMultiLineValueTravelsWhole() throws {
        let (handler, socket, directory) = try journal()
        defer { TestPaths.removeDirectory(directory) }
        let logger = Logger(label: "referral-router") { _ in handler }
        logger.error("Reload refused; the previous configuration stays in force: router.toml:3: x", metadata: [LogKey.code: "reload_refused", "detail": "line one\nline two"])
        let fields = try #require(socket.receiveJournalEntry())
        #expect(value("DETAIL", in: fields) == "line one\nline two")
        #expect(value("MESSAGE", in: fields)?.hasSuffix("code=reload_refused detail=\"line one\nline two\"") == true)
    }

    @Test func withoutAJournalTheLineGoesToTheFallbackWithItsMetadata() throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "journal")
        defer { TestPaths.removeDirectory(directory) }
        // Nobody listens on this path, so every send fails.
        let writer = try JournalWriter(socketPath: directory + "/nobody-listens")
        let fallback = RecordingLogHandler()
        let handler = JournalLogHandler(writer: writer, label: "referral-router", level: .info, fallback: fallback)
        var logger = Logger(label: "referral-router") { _ in handler }
        logger[metadataKey: LogKey.stage] = "intake"
        logger.notice("Referral router stopped.", metadata: [LogKey.code: "stopped"])
        logger.debug("Below the level.")
        #expect(fallback.lines == ["notice Referral router stopped. code=stopped stage=intake"])
    }

    @Test func priorityFollowsTheSyslogLevels() {
        let pairs: [(Logger.Level, Int)] = [(.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2)]
        for (level, priority) in pairs {
            #expect(JournalLogHandler.priority(level) == priority, "\(level)")
        }
    }
}

/// Keeps the lines it is given, so a test can read what a fallback received.
final class RecordingLogHandler: LogHandler, Sendable {
    private let recorded = Mutex<[String]>([])
    var lines: [String] { recorded.withLock { $0 } }

    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        recorded.withLock { $0.append("\(event.level) \(event.message)" + fields) }
    }
}
