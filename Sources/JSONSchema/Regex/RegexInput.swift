/// Random access to the scalars being matched.
protocol RegexInput {
    var count: Int { get }
    subscript(position: Int) -> UInt32 { get }
}

/// ASCII text matched byte by byte, without decoding.
struct ASCIIRegexInput: RegexInput {
    let bytes: UnsafeBufferPointer<UInt8>
    var count: Int { bytes.count }
    subscript(position: Int) -> UInt32 { UInt32(bytes[position]) }
}

/// General text as decoded scalars.
struct ScalarRegexInput: RegexInput {
    let scalars: [UInt32]
    var count: Int { scalars.count }
    subscript(position: Int) -> UInt32 { scalars[position] }
}
