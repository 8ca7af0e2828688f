/// The whole of a regular file, read in one piece, and the identity it had throughout the read.
public struct RegularFileContents: Sendable {
    public var bytes: [UInt8]
    public var identity: FileIdentity

    public init(bytes: [UInt8], identity: FileIdentity) {
        self.bytes = bytes
        self.identity = identity
    }
}
