/// Which members of an object (by position) or elements of an array an evaluation has covered:
/// the annotations that `unevaluatedProperties`/`unevaluatedItems` read. The first 64 positions
/// live inline, so typical objects need no allocation.
struct EvaluatedSet {
    private var low: UInt64 = 0
    private var high: [UInt64] = []

    @inline(__always)
    mutating func insert(_ position: Int) {
        if position < 64 {
            low |= 1 << UInt64(position)
        } else {
            let word = position / 64 - 1
            if word >= high.count { high.append(contentsOf: repeatElement(0, count: word - high.count + 1)) }
            high[word] |= 1 << UInt64(position % 64)
        }
    }

    @inline(__always)
    func contains(_ position: Int) -> Bool {
        if position < 64 { return low & (1 << UInt64(position)) != 0 }
        let word = position / 64 - 1
        return word < high.count && high[word] & (1 << UInt64(position % 64)) != 0
    }

    mutating func insertAll(below count: Int) {
        if count >= 64 {
            low = .max
            for position in 64..<count { insert(position) }
        } else if count > 0 {
            low |= (1 << UInt64(count)) &- 1
        }
    }

    mutating func formUnion(_ other: EvaluatedSet) {
        low |= other.low
        if !other.high.isEmpty {
            if high.count < other.high.count {
                high.append(contentsOf: repeatElement(0, count: other.high.count - high.count))
            }
            for (index, word) in other.high.enumerated() { high[index] |= word }
        }
    }
}
