import Foundation

/// Waits until `condition` holds, checking every `interval`, for at most `timeout`. Returns whether
/// it held: every wait in the tests is bounded.
public func waitUntil(timeout: Duration = .seconds(20), interval: Duration = .milliseconds(25),
                      _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try condition()
}

/// `waitUntil` for a condition that must itself wait (a child process, a network call).
public func waitUntil(timeout: Duration = .seconds(20), interval: Duration = .milliseconds(25),
                      _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Drops a file the way agencies are told to: write under a temporary name, then rename into place.
public func dropFile(_ bytes: [UInt8], named name: String, into directory: String) throws {
    let temporary = directory + "/." + name + ".tmp"
    guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
        throw TestSupportError("cannot write \(temporary)")
    }
    try FileManager.default.moveItem(atPath: temporary, toPath: directory + "/" + name)
}

/// Reads a JSON file into Foundation values (tests inspect receipts and reports with it).
public func readJSONObject(_ path: String) -> [String: Any]? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}
