import Glibc
import Testing
@testable import LinuxSystem
import TestSupport

@Suite("JournalWriter")
struct JournalWriterTests {
    @Test func sendsFieldsInOrderWithTheBinaryFormForMultiLineValues() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let journal = try BoundDatagramSocket(path: directory.appending("journal"))
            defer { journal.close() }
            let writer = try JournalWriter(socketPath: directory.appending("journal"))
            try writer.send([
                (name: "MESSAGE", value: "Referral accepted."),
                (name: "PRIORITY", value: "6"),
                (name: "RR_DETAIL", value: "line one\nline two=still two"),
                (name: "RR_EMPTY", value: ""),
            ])
            let received = try #require(journal.receive())
            #expect(received.descriptors.isEmpty)
            var expected = Array("MESSAGE=Referral accepted.\nPRIORITY=6\nRR_DETAIL\n".utf8)
            expected += [27, 0, 0, 0, 0, 0, 0, 0]
            expected += Array("line one\nline two=still two\nRR_EMPTY=\n".utf8)
            #expect(received.bytes == expected)
            let fields = try #require(parseJournalEntry(received.bytes))
            #expect(fields.map(\.name) == ["MESSAGE", "PRIORITY", "RR_DETAIL", "RR_EMPTY"])
            #expect(fields.map(\.value) == ["Referral accepted.", "6", "line one\nline two=still two", ""])
        }
    }

    @Test func sendsALargeEntryThroughASealedMemfd() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let journal = try BoundDatagramSocket(path: directory.appending("journal"))
            defer { journal.close() }
            let writer = try JournalWriter(socketPath: directory.appending("journal"))
            let large = String(repeating: "0123456789abcdef\n", count: 300_000 / 17)
            try writer.send([(name: "MESSAGE", value: "Large entry."), (name: "RR_BLOB", value: large)])

            let received = try #require(journal.receive())
            #expect(received.bytes.isEmpty, "the entry must travel in the memfd, not the datagram")
            let memoryFile = try #require(received.descriptors.first)
            defer { close(memoryFile) }
            #expect(received.descriptors.count == 1)
            // journald only accepts a memfd that can no longer change.
            let seals = fcntl(memoryFile, GNUFunctions.fcntlGetSeals)
            let required = GNUFunctions.sealShrink | GNUFunctions.sealGrow | GNUFunctions.sealWrite | GNUFunctions.sealSeal
            #expect(seals & required == required)

            var status = stat()
            try #require(fstat(memoryFile, &status) == 0)
            var contents = [UInt8](repeating: 0, count: Int(status.st_size))
            let count = contents.withUnsafeMutableBytes { pread(memoryFile, $0.baseAddress, $0.count, 0) }
            #expect(count == contents.count)
            let fields = try #require(parseJournalEntry(contents))
            #expect(fields.map(\.name) == ["MESSAGE", "RR_BLOB"])
            #expect(fields.last?.value == large)
            #expect(large.utf8.count > 290_000)
        }
    }

    @Test func aMissingJournalIsAnErrorNamingTheSocket() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("no-journal")
            let writer = try JournalWriter(socketPath: path)
            #expect(throws: SystemError(call: "sendmsg", errno: ENOENT, path: path)) {
                try writer.send([(name: "MESSAGE", value: "x")])
            }
        }
    }

    @Test func validatesFieldNames() {
        #expect(JournalWriter.isValidFieldName("MESSAGE"))
        #expect(JournalWriter.isValidFieldName("RR_REFERRAL_ID2"))
        #expect(!JournalWriter.isValidFieldName("_PID"))
        #expect(!JournalWriter.isValidFieldName("message"))
        #expect(!JournalWriter.isValidFieldName("2FA"))
        #expect(!JournalWriter.isValidFieldName(""))
        #expect(!JournalWriter.isValidFieldName("A=B"))
        #expect(!JournalWriter.isValidFieldName(String(repeating: "A", count: 65)))
    }

    @Test func stderrIsJournalOnlyWhenTheStreamMatches() throws {
        var status = stat()
        try #require(fstat(STDERR_FILENO, &status) == 0)
        let actual = "\(status.st_dev):\(status.st_ino)"
        #expect(JournalWriter.stderrIsJournal(environment: ["JOURNAL_STREAM": actual]))
        #expect(!JournalWriter.stderrIsJournal(environment: [:]))
        #expect(!JournalWriter.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"]))
        #expect(!JournalWriter.stderrIsJournal(environment: ["JOURNAL_STREAM": "garbage"]))
        #expect(!JournalWriter.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(status.st_dev):"]))
    }
}
