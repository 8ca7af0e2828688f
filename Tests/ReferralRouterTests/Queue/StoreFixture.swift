import Foundation
import GRDB
import TestSupport
@testable import ReferralRouter

/// A real `SQLiteReferralStore` on a new file in its own private temporary directory, so tests can
/// run in parallel. `reopen` stands for a restart; `rawConnection` is a second, independent SQLite
/// connection on the same file for looking underneath the store (and for tampering).
struct StoreFixture: Sendable {
    let directory: String
    let path: String
    let auditKey: [UInt8]?
    let store: SQLiteReferralStore

    init(auditKey: [UInt8]? = nil) throws {
        directory = try TestPaths.makeTemporaryDirectory(prefix: "router-store")
        path = directory + "/queue.sqlite"
        self.auditKey = auditKey
        store = try SQLiteReferralStore(path: path, auditKey: auditKey)
    }

    /// A new store on the same file, as the daemon opens it after a restart.
    func reopen(auditKey: [UInt8]?? = nil) throws -> SQLiteReferralStore {
        try SQLiteReferralStore(path: path, auditKey: auditKey ?? self.auditKey)
    }

    /// A plain GRDB connection on the same file, outside the store.
    func rawConnection() throws -> DatabaseQueue {
        try DatabaseQueue(path: path)
    }

    /// Runs one statement through a connection of its own (raw SQL, as an attacker or an operator
    /// would), on GRDB's queue rather than a cooperative thread (the commit waits for fsync).
    func execute(_ sql: String, _ arguments: StatementArguments = StatementArguments()) async throws {
        let connection = try rawConnection()
        try await connection.write { db in try db.execute(sql: sql, arguments: arguments) }
        try connection.close()
    }

    /// Every value of every row of `table` as text, for "does this appear anywhere" checks.
    func allText(of table: String) throws -> String {
        let connection = try rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(table)").map { row in
                row.databaseValues.map { value -> String in
                    switch value.storage {
                    case .null: "NULL"
                    case .int64(let number): String(number)
                    case .double(let number): String(number)
                    case .string(let text): text
                    case .blob(let data): String(decoding: data, as: UTF8.self)
                    }
                }.joined(separator: "|")
            }.joined(separator: "\n")
        }
    }

    func remove() {
        TestPaths.removeDirectory(directory)
    }
}

/// Runs `body` with a fresh store whose directory is removed afterwards, whatever happens.
func withTemporaryStore<Result>(auditKey: [UInt8]? = nil, _ body: (StoreFixture) async throws -> Result) async throws -> Result {
    let fixture = try StoreFixture(auditKey: auditKey)
    defer { fixture.remove() }
    return try await body(fixture)
}
