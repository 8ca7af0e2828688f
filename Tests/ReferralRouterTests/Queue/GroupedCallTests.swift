import Synchronization
import Testing
@testable import ReferralRouter

@Suite("GroupedCall")
struct GroupedCallTests {
    /// Concurrent callers share calls, and each gets the output made from its own input.
    @Test func eachCallerGetsTheOutputOfItsOwnInput() async throws {
        let calls = Mutex<[[Int]]>([])
        let grouped = GroupedCall<Int, String>(maxBatch: 16) { inputs in
            calls.withLock { $0.append(inputs) }
            try await Task.sleep(for: .milliseconds(5))   // callers arriving meanwhile wait for the next call
            return inputs.map { "out-\($0)" }
        }
        let outputs = try await withinDeadline(seconds: 10) {
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for input in 0..<100 { group.addTask { (input, try await grouped.submit(input)) } }
                var outputs: [Int: String] = [:]
                for try await (input, output) in group { outputs[input] = output }
                return outputs
            }
        }
        #expect(outputs.count == 100)
        #expect(outputs.allSatisfy { $0.value == "out-\($0.key)" })
        let batches = calls.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<100))
        #expect(batches.allSatisfy { $0.count <= 16 })
        #expect(batches.count < 100, "no call was shared")
    }

    /// A call that answers with the wrong number of outputs fails its callers instead of pairing
    /// outputs with the wrong inputs.
    @Test func aCallReturningTheWrongNumberOfOutputsFailsItsCallers() async throws {
        let grouped = GroupedCall<Int, Int>(maxBatch: 8) { inputs in Array(inputs.dropLast()) }
        await #expect(throws: GroupedCallMismatch.self) {
            try await withinDeadline(seconds: 10) { _ = try await grouped.submit(1) }
        }
    }
}
