// SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), small and dependency-free, for the program cache: the
// hash names cache files, the HMAC under the cache folder's secret proves that Kiln wrote an entry. Not
// constant time: it guards against entries written by others, not against someone timing this process.

enum SHA256 {
    /// The 32-byte digest of `bytes`.
    static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        let message = Array(bytes)
        var state: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        // Whole blocks straight from the message, then the tail with the padding: a one bit, zeros up to
        // 56 mod 64 bytes, and the length in bits as a big-endian UInt64.
        let whole = message.count / 64 * 64
        var tail = Array(message[whole...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bitLength = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        state.withUnsafeMutableBufferPointer { state in
            message.withUnsafeBufferPointer { compress($0, blocks: whole / 64, into: state) }
            tail.withUnsafeBufferPointer { compress($0, blocks: tail.count / 64, into: state) }
        }
        return state.flatMap { word in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> UInt32($0)) } }
    }

    /// Runs the compression function over the first `blocks` 64-byte blocks of `data`. Written with
    /// pointers and without helper calls so that a debug build (tests, CI) hashes megabytes of program
    /// binaries in milliseconds rather than seconds.
    private static func compress(_ data: UnsafeBufferPointer<UInt8>, blocks: Int, into state: UnsafeMutableBufferPointer<UInt32>) {
        guard blocks > 0, let bytes = data.baseAddress, let h0 = state.baseAddress else { return }
        let schedule = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
        defer { schedule.deallocate() }
        roundConstants.withUnsafeBufferPointer { constants in
            guard let k = constants.baseAddress else { return }
            // `while` loops: a debug build calls a range iterator's methods on every step of a `for`.
            var block = 0
            while block < blocks {
                var i = bytes + 64 * block
                var w = schedule
                while w < schedule + 16 {
                    w.pointee =
                        UInt32(i.pointee) << 24 | UInt32((i + 1).pointee) << 16 | UInt32((i + 2).pointee) << 8 | UInt32((i + 3).pointee)
                    w += 1
                    i += 4
                }
                while w < schedule + 64 {
                    let w15 = (w - 15).pointee
                    let w2 = (w - 2).pointee
                    let s0 = (w15 >> 7 | w15 << 25) ^ (w15 >> 18 | w15 << 14) ^ (w15 >> 3)
                    let s1 = (w2 >> 17 | w2 << 15) ^ (w2 >> 19 | w2 << 13) ^ (w2 >> 10)
                    w.pointee = (w - 16).pointee &+ s0 &+ (w - 7).pointee &+ s1
                    w += 1
                }
                var a = h0.pointee
                var b = (h0 + 1).pointee
                var c = (h0 + 2).pointee
                var d = (h0 + 3).pointee
                var e = (h0 + 4).pointee
                var f = (h0 + 5).pointee
                var g = (h0 + 6).pointee
                var h = (h0 + 7).pointee
                var t = 0
                while t < 64 {
                    let sum1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                    let choose = (e & f) ^ (~e & g)
                    let temp1 = h &+ sum1 &+ choose &+ (k + t).pointee &+ (schedule + t).pointee
                    let sum0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    h = g
                    g = f
                    f = e
                    e = d &+ temp1
                    d = c
                    c = b
                    b = a
                    a = temp1 &+ sum0 &+ majority
                    t += 1
                }
                h0.pointee &+= a
                (h0 + 1).pointee &+= b
                (h0 + 2).pointee &+= c
                (h0 + 3).pointee &+= d
                (h0 + 4).pointee &+= e
                (h0 + 5).pointee &+= f
                (h0 + 6).pointee &+= g
                (h0 + 7).pointee &+= h
                block += 1
            }
        }
    }

    /// HMAC-SHA-256 of `message` under `key` (RFC 2104; a key longer than a block is hashed first).
    static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        let blockSize = 64
        var block = key.count > blockSize ? hash(key) : key
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        let inner = hash(block.map { $0 ^ 0x36 } + message)
        return hash(block.map { $0 ^ 0x5c } + inner)
    }

    /// The digest as 64 lowercase hex digits.
    static func hexDigest<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        hash(bytes).map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
}
