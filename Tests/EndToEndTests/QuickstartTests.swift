import Foundation
import Testing
import TestSupport

/// The README's first command, as the test suite runs it: `scripts/quickstart --once`.
struct QuickstartTests {
    @Test(.timeLimit(.minutes(5)))
    func quickstartOnceAccountsForEverySample() async throws {
        let run = try TestPaths.makeTemporaryDirectory(prefix: "quickstart")
        defer { TestPaths.removeDirectory(run) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.scriptsDirectory + "/quickstart")
        process.arguments = ["--once", "--timeout=120"]
        var environment = ProcessInfo.processInfo.environment
        environment["REFERRAL_ROUTER_BIN"] = RouterProcess.binary
        environment["QUICKSTART_RUN_DIR"] = run + "/run"
        process.environment = environment
        let log = run + "/quickstart.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let finished = await waitUntil(timeout: .seconds(240), interval: .milliseconds(200)) { !process.isRunning }
        if !finished { process.terminate() }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(finished)
        #expect(process.terminationStatus == 0, "quickstart --once failed:\n\(output.suffix(3000))")
        #expect(output.contains("Every sample is accounted for."))
        #expect(output.contains("REJECTED"))
        #expect(output.contains("partner la-front-door: received referral"))
    }
}
