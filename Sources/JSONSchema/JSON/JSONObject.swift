/// A JSON object: members in insertion (source) order with unique keys.
///
/// Small objects are searched linearly (fastest for the typical referral object); larger ones
/// keep a key index. Equality and hashing are those of an unordered map.
public struct JSONObject: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Member = (key: String, value: JSONValue)

    /// Above this many members a key → position index is kept.
    static let indexThreshold = 12

    private(set) var members: [Member]
    private var index: [String: Int]?

    public init() {
        members = []
        index = nil
    }

    /// A later duplicate key replaces the earlier value in place.
    public init(_ members: [(key: String, value: JSONValue)]) {
        self.init()
        self.members.reserveCapacity(members.count)
        for member in members {
            self[member.key] = member.value
        }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }

    /// Members already known to have unique keys (the parser checks), with an optional index.
    init(uniqueMembers: [Member], index: [String: Int]?) {
        members = uniqueMembers
        if uniqueMembers.count > Self.indexThreshold {
            self.index = index ?? Self.buildIndex(uniqueMembers)
        } else {
            self.index = nil
        }
    }

    public var count: Int { members.count }

    public var isEmpty: Bool { members.isEmpty }

    /// Keys in insertion order.
    public var keys: [String] { members.map(\.key) }

    /// Values in insertion order.
    public var values: [JSONValue] { members.map(\.value) }

    /// Setting nil removes the member; setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = position(of: key) else { return nil }
            return members[position].value
        }
        set {
            if let position = position(of: key) {
                if let newValue {
                    members[position].value = newValue
                } else {
                    members.remove(at: position)
                    index = members.count > Self.indexThreshold ? Self.buildIndex(members) : nil
                }
            } else if let newValue {
                members.append((key: key, value: newValue))
                if index != nil {
                    index?[key] = members.count - 1
                } else if members.count > Self.indexThreshold {
                    index = Self.buildIndex(members)
                }
            }
        }
    }

    /// Whether a member named `key` exists.
    public func contains(key: String) -> Bool {
        position(of: key) != nil
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    @inline(__always)
    func position(of key: String) -> Int? {
        if let index { return index[key] }
        for position in members.indices where members[position].key == key {
            return position
        }
        return nil
    }

    private static func buildIndex(_ members: [Member]) -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(members.count)
        for (position, member) in members.enumerated() {
            index[member.key] = position
        }
        return index
    }
}

extension JSONObject: Hashable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for member in lhs.members {
            guard let other = rhs[member.key], other == member.value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: sum the members' own hashes.
        var sum = 0
        for member in members {
            var memberHasher = Hasher()
            memberHasher.combine(member.key)
            memberHasher.combine(member.value)
            sum = sum &+ memberHasher.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(sum)
    }
}
