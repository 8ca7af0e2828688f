import Glibc
import Testing
import LinuxSystem

@Suite("Credentials")
struct CredentialsTests {
    private let secret = "s3cr3t-token-value"

    @Test func readsASystemdCredentialStrippingOneNewline() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("partner-token"), secret + "\n")
            let environment = ["CREDENTIALS_DIRECTORY": directory.path]
            #expect(try Credentials.read("credential:partner-token", environment: environment) == Array(secret.utf8))
        }
    }

    @Test func readsAnAbsolutePathStrippingCRLFOnlyOnce() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("key"), secret + "\n\r\n")
            #expect(try Credentials.read(directory.appending("key"), environment: [:]) == Array((secret + "\n").utf8))
            try writeTestFile(directory.appending("plain"), secret)
            #expect(try Credentials.read(directory.appending("plain"), environment: [:]) == Array(secret.utf8))
            try writeTestFile(directory.appending("lf-lf"), secret + "\n\n")
            #expect(try Credentials.read(directory.appending("lf-lf"), environment: [:]) == Array((secret + "\n").utf8))
        }
    }

    @Test func anAbsolutePathMayBeALinkButACredentialMayNot() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("real"), secret)
            #expect(symlink(directory.appending("real"), directory.appending("alias")) == 0)
            #expect(try Credentials.read(directory.appending("alias"), environment: [:]) == Array(secret.utf8))
            let error = #expect(throws: CredentialError.self) {
                try Credentials.read("credential:alias", environment: ["CREDENTIALS_DIRECTORY": directory.path])
            }
            #expect(error?.reference == "credential:alias")
            #expect(error?.reason.contains("symbolic link") == true)
        }
    }

    @Test func refusesAFIFO() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            #expect(mkfifo(directory.appending("fifo"), 0o600) == 0)
            let error = #expect(throws: CredentialError.self) {
                try Credentials.read(directory.appending("fifo"), environment: [:])
            }
            #expect(error?.description == "secret \(directory.appending("fifo")): not a regular file (fifo)")
            // A link to a FIFO is followed for an absolute path, and still refused.
            #expect(symlink(directory.appending("fifo"), directory.appending("to-fifo")) == 0)
            #expect(throws: CredentialError.self) { try Credentials.read(directory.appending("to-fifo"), environment: [:]) }
        }
    }

    @Test func refusesADevice() {
        let error = #expect(throws: CredentialError.self) { try Credentials.read("/dev/zero", environment: [:]) }
        #expect(error?.reason == "not a regular file (characterDevice)")
    }

    @Test func refusesAFileOver64KiB() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("exact"), String(repeating: "k", count: 65_536))
            #expect(try Credentials.read(directory.appending("exact"), environment: [:]).count == 65_536)
            try writeTestFile(directory.appending("big"), secret + String(repeating: "k", count: 65_536))
            let error = #expect(throws: CredentialError.self) {
                try Credentials.read("credential:big", environment: ["CREDENTIALS_DIRECTORY": directory.path])
            }
            #expect(error?.reason == "larger than 65536 bytes")
            #expect(error?.description.contains(secret) == false)
        }
    }

    @Test func errorsNameTheReferenceAndNeverTheContent() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("unreadable"), secret)
            let cases: [(String, [String: String], String)] = [
                ("credential:absent", ["CREDENTIALS_DIRECTORY": directory.path], "not found"),
                ("credential:partner-token", [:], "CREDENTIALS_DIRECTORY is not set to an absolute path (is LoadCredential= configured?)"),
                ("credential:../unreadable", ["CREDENTIALS_DIRECTORY": directory.path], "the credential name must be a single file name"),
                ("credential:", ["CREDENTIALS_DIRECTORY": directory.path], "the credential name must be a single file name"),
                ("relative/path", [:], "must be \"credential:NAME\" or an absolute path"),
                (directory.path + "/", [:], "the path names a directory"),
                (directory.appending("absent"), [:], "not found"),
            ]
            for (reference, environment, reason) in cases {
                let error = #expect(throws: CredentialError.self) { try Credentials.read(reference, environment: environment) }
                #expect(error?.reference == reference)
                #expect(error?.reason == reason)
                #expect(error?.description.contains(secret) == false)
            }
            // A directory at an absolute path is refused by kind.
            let error = #expect(throws: CredentialError.self) { try Credentials.read(directory.path, environment: [:]) }
            #expect(error?.reason == "not a regular file (directory)")
        }
    }
}
