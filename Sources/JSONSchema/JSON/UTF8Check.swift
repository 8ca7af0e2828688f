/// Strict UTF-8 validation of one sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
enum UTF8Check {
    /// The length of the valid sequence starting at `position`, or 0 when it is invalid.
    @inline(__always)
    static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Int {
        let b0 = bytes[position]
        let remaining = bytes.count - position
        @inline(__always) func continuation(_ offset: Int) -> Bool {
            bytes[position + offset] & 0xC0 == 0x80
        }
        switch b0 {
        case 0x00...0x7F:
            return 1
        case 0xC2...0xDF:
            return remaining >= 2 && continuation(1) ? 2 : 0
        case 0xE0...0xEF:
            guard remaining >= 3 else { return 0 }
            let b1 = bytes[position + 1]
            let secondOK: Bool
            switch b0 {
            case 0xE0: secondOK = (0xA0...0xBF).contains(b1)
            case 0xED: secondOK = (0x80...0x9F).contains(b1)
            default: secondOK = b1 & 0xC0 == 0x80
            }
            return secondOK && continuation(2) ? 3 : 0
        case 0xF0...0xF4:
            guard remaining >= 4 else { return 0 }
            let b1 = bytes[position + 1]
            let secondOK: Bool
            switch b0 {
            case 0xF0: secondOK = (0x90...0xBF).contains(b1)
            case 0xF4: secondOK = (0x80...0x8F).contains(b1)
            default: secondOK = b1 & 0xC0 == 0x80
            }
            return secondOK && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }
}
