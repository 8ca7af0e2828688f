import Testing
@testable import ReferralRouter

@Suite("Heap")
struct HeapTests {
    @Test func anEmptyHeapHasNoMinimum() {
        var heap = Heap<Int>()
        #expect(heap.isEmpty)
        #expect(heap.count == 0)
        #expect(heap.min == nil)
        #expect(heap.popMin() == nil)
    }

    @Test(arguments: [UInt64(1), 2, 3, 42, 2025])
    func popsRandomInputInAscendingOrder(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let values = (0..<Int.random(in: 1...2_000, using: &random)).map { _ in Int.random(in: -500...500, using: &random) }
        var heap = Heap<Int>()
        for value in values { heap.insert(value) }
        #expect(heap.count == values.count)
        #expect(heap.min == values.min())
        var popped: [Int] = []
        while let value = heap.popMin() { popped.append(value) }
        #expect(popped == values.sorted())
        #expect(heap.isEmpty)
    }

    @Test func interleavedInsertsAndPopsMatchASortedReference() {
        var random = SplitMix64(seed: 77)
        var heap = Heap<Int>()
        var reference: [Int] = []
        var mismatches = 0
        for _ in 0..<5_000 {
            if reference.isEmpty || Int.random(in: 0..<3, using: &random) > 0 {
                let value = Int.random(in: 0..<100, using: &random)
                heap.insert(value)
                reference.append(value)
                reference.sort()
            } else if heap.popMin() != reference.removeFirst() {
                mismatches += 1
            }
            if heap.min != reference.first || heap.count != reference.count { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
