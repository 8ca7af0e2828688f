import Foundation
import TestSupport

/// The five shipped destinations as real HTTPS partners on 127.0.0.1.
struct Partners {
    let byDestination: [String: TestPartner]

    static let destinations = ["la-front-door", "police-ppu", "health-safeguarding", "school-dsl", "early-help-hub"]

    static func start(_ sandbox: RouterSandbox, scripts: [String: String] = [:]) async throws -> Partners {
        var partners: [String: TestPartner] = [:]
        for destination in destinations {
            let directory = sandbox.root + "/partner-" + destination
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            partners[destination] = try await TestPartner.start(pki: sandbox.pki, directory: directory,
                                                                script: scripts[destination], name: destination)
        }
        return Partners(byDestination: partners)
    }

    subscript(_ destination: String) -> TestPartner {
        guard let partner = byDestination[destination] else { fatalError("no partner \(destination)") }
        return partner
    }

    var urls: [String: String] {
        byDestination.mapValues { $0.url(path: "/referrals") }
    }

    /// Referral ids received (by status) at one partner, from the JSON envelope.
    func referralIds(at destination: String, status: Int? = nil) throws -> [String] {
        try self[destination].received().filter { status == nil || $0.status == status }.compactMap { request in
            (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["referralId"] as? String
        }
    }

    func stop() {
        byDestination.values.forEach { $0.stop() }
    }
}
