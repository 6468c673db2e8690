// NetworkNamespaces: a few Linux network namespaces joined through a bridge, each a "host" with one address,
// so a test can run the ranks of an MPI job on separate network stacks over TCP without touching the
// machine's own network. Needs root and iproute2; everything is removed again, also when a test fails.
import Foundation
import XCTest

/// Hosts `10.251.0.1`, `10.251.0.2`, ... in namespaces `<prefix>-h0`, ..., each joined by a veth pair to a
/// bridge in namespace `<prefix>-sw`. Only these namespaces get addresses or links.
final class NetworkNamespaces {
    /// iproute2's `ip`.
    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The subnet the hosts share.
    static let subnet = "10.251.0.0/24"

    let prefix: String
    let addresses: [String]
    let namespaces: [String]
    private let bridge: String
    private var created: [String] = []

    /// The interface of host `index` inside its namespace.
    func interface(_ index: Int) -> String { "kiln\(index)" }

    /// Creates `count` hosts, or throws (having removed what it made) when the machine does not allow it.
    init(count: Int) throws {
        let prefix = "kiln-test-\(getpid())"
        self.prefix = prefix
        addresses = (0..<count).map { "10.251.0.\($0 + 1)" }
        namespaces = (0..<count).map { "\(prefix)-h\($0)" }
        bridge = "\(prefix)-sw"
        do {
            try Self.run(["netns", "add", bridge])
            created.append(bridge)
            try Self.run(["-n", bridge, "link", "add", "switch", "type", "bridge"])
            try Self.run(["-n", bridge, "link", "set", "switch", "up"])
            for (index, namespace) in namespaces.enumerated() {
                try Self.run(["netns", "add", namespace])
                created.append(namespace)
                // Both ends are made inside the namespaces: nothing appears in the machine's own.
                try Self.run([
                    "link", "add", interface(index), "netns", namespace, "type", "veth", "peer", "name", "port\(index)", "netns", bridge,
                ])
                try Self.run(["-n", bridge, "link", "set", "port\(index)", "master", "switch"])
                try Self.run(["-n", bridge, "link", "set", "port\(index)", "up"])
                try Self.run(["-n", namespace, "address", "add", "\(addresses[index])/24", "dev", interface(index)])
                try Self.run(["-n", namespace, "link", "set", interface(index), "up"])
                try Self.run(["-n", namespace, "link", "set", "lo", "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Deletes the namespaces (their links go with them). Safe to call twice.
    func remove() {
        for namespace in created.reversed() { _ = try? Self.run(["netns", "delete", namespace]) }
        created = []
    }

    /// Bytes host `index` has sent on its link.
    func sentBytes(_ index: Int) throws -> Int {
        let text = try Self.run(["-n", namespaces[index], "-s", "-j", "link", "show", "dev", interface(index)])
        guard let links = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]],
            let statistics = links.first?["stats64"] as? [String: Any], let sent = statistics["tx"] as? [String: Any],
            let bytes = sent["bytes"] as? Int
        else { throw NamespaceError("no transmit counter for \(interface(index)) in \(text)") }
        return bytes
    }

    /// An Open MPI launch agent (`--mca plm_rsh_agent`) that starts a command on a host by entering its
    /// namespace, as ssh would log in to a machine. Written into `folder`. The hosts share one file system, so
    /// each gets its own temporary folder (`orte_tmpdir_base`) under `folder`, as each machine has its own
    /// `/tmp`: daemons that share `/tmp/ompi.HOSTNAME.UID` race to create their job's session folder in it, and
    /// the loser stops Open MPI with "mkdir ... File exists" (4 of 100 launches on this machine; none of 100 with a folder each).
    func launchAgent(in folder: URL) throws -> URL {
        guard let ip = Self.ip else { throw NamespaceError("no ip command: install iproute2") }
        let temporary = try namespaces.map { namespace in
            let url = folder.appendingPathComponent("tmp-\(namespace)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url.path
        }
        let cases = zip(addresses, zip(namespaces, temporary)).map { address, host in
            "    \(address)) exec \(ip) netns exec \(host.0) env OMPI_MCA_orte_tmpdir_base=\(host.1) sh -c \"$*\" ;;"
        }
        let script = """
            #!/bin/sh
            # Called by mpirun as: agent HOST COMMAND...; runs COMMAND in HOST's network namespace.
            host=$1
            shift
            case "$host" in
            \(cases.joined(separator: "\n"))
            esac
            echo "launch agent: unknown host $host" >&2
            exit 1

            """
        let url = folder.appendingPathComponent("namespace-agent.sh")
        try script.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    /// A hostfile with one slot per host.
    func hostfile(in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("hosts")
        try addresses.map { "\($0) slots=1\n" }.joined().write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Runs `ip arguments` and returns its output; throws with its error output when it fails.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        guard let ip else { throw NamespaceError("no ip command: install iproute2") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw NamespaceError("ip \(arguments.joined(separator: " ")): \(errorText)") }
        return text
    }
}

/// A namespace operation failed.
struct NamespaceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
