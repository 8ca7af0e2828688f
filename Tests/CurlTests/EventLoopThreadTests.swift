import Curl
import Foundation
import Testing

/// Operators find libcurl's event loop by name in `top -H` and perf.
@Suite struct EventLoopThreadTests {
    @Test func theEventLoopThreadIsNamedForOperators() async throws {
        let before = Self.threadsNamed("rr-curl")
        let client = try HTTPClient()
        defer { client.shutdown() }
        // The thread names itself as it starts; other suites' clients may come and go meanwhile, so
        // this looks for more such threads than there were, within a bound.
        var seen = Self.threadsNamed("rr-curl")
        for _ in 0..<500 where seen.isSubset(of: before) {
            try await Task.sleep(for: .milliseconds(10))
            seen = Self.threadsNamed("rr-curl")
        }
        #expect(!seen.subtracting(before).isEmpty, "no new thread named rr-curl in /proc/self/task")
    }

    /// Thread ids of this process whose name (/proc/self/task/<tid>/comm) is `name`.
    static func threadsNamed(_ name: String) -> Set<String> {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return Set(tasks.filter { tid in
            let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .newlines) == name
        })
    }
}
