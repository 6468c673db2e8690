// RankDevice: the device each rank opens. The local rank picks among the host's devices that the device
// string names, so four ranks on a host with four GPUs take one each and the same command line works on
// every host of the job.
import Foundation
import Kiln

extension Device {
    /// The device for local rank `localRank` among those `query` names (see `Device.named`):
    /// - `opencl`: the host's GPUs, one per local rank in turn; on a host without a GPU, the first device
    ///   (every rank shares it, pocl's CPU device with its share of the cores: `CoreShare`);
    /// - `opencl:NAME`: every device whose platform, vendor or device name contains NAME, in turn;
    /// - `opencl:N` and `cpu`: that device for every rank.
    public static func forRank(_ query: String, localRank: Int) throws -> Device {
        let trimmed = query.trimmingCharacters(in: .whitespaces)
        let lowered = trimmed.lowercased()
        guard lowered == "opencl" || lowered.hasPrefix("opencl:") else { return try named(query) }
        let rest = String(trimmed.dropFirst("opencl".count)).trimmingCharacters(in: CharacterSet(charactersIn: ": "))
        if Int(rest) != nil { return try named(query) }
        let devices = try OpenCLDiscovery.devices()
        var candidates: [OpenCLDeviceHandle]
        if rest.isEmpty {
            let gpus = devices.filter(\.info.isGPU)
            candidates = gpus.isEmpty ? Array(devices.prefix(1)) : gpus
        } else {
            // Every match of the one selection rule, in order: select, set the match aside, select again.
            candidates = []
            var remaining = devices
            while let match = try? OpenCLDiscovery.select(rest, from: remaining) {
                candidates.append(match)
                remaining.removeAll { $0.info.index == match.info.index }
            }
        }
        guard !candidates.isEmpty else { return try named(query) }
        return Device(try OpenCLBackend(device: candidates[localRank % candidates.count]))
    }
}
