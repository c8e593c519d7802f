import CPcap

/// A BPF program whose return value is the snap length of each packet: `dnsSnapLength`
/// bytes for DNS responses, the configured snap length for every other packet the user's
/// filter accepts, 0 (not captured) for what it rejects.
///
/// On Linux the kernel cuts each packet to the filter's return value before copying it
/// into the capture ring (`tpacket_rcv`), and libpcap cuts again to the handle's snap
/// length, so the handle's snap length is raised to the largest and the program does
/// the cutting. DNS answers are then decoded whole while every other packet costs the
/// ring no more than before.
public struct SnapLengthProgram {
    /// What a DNS response's packet is cut to: room for the link and IP headers and a
    /// message of about 4,000 bytes, more than the 1,232-byte EDNS buffer resolvers use
    /// and than a TCP segment of a 1,500-byte MTU. A longer message is cut and decodes
    /// as `truncated`; a flood from port 53 then costs the capture ring 4 KiB a packet at
    /// most, not a whole datagram of up to 64 KiB.
    public static let dnsSnapLength: UInt32 = 4_096
    /// The filter expression of the packets captured whole.
    public static let dnsResponses = "udp src port 53 or tcp src port 53"

    static let classMask: UInt16 = 0x07
    static let retClass: UInt16 = 0x06
    static let retConstant: UInt16 = 0x06  // BPF_RET | BPF_K
    static let jumpAlways: UInt16 = 0x05  // BPF_JMP | BPF_JA

    /// The instructions, as pcap_setfilter takes them.
    let instructions: [bpf_insn]

    /// Combines `user` (the compiled -capture-filter, nil for none) and `dns` (the
    /// compiled `dnsResponses`, nil when it cannot be compiled for the link type): the
    /// user program's accepting returns become jumps to the DNS program, whose accepting
    /// returns keep the whole packet and whose rejecting ones keep `snapLength` bytes.
    /// Nil when the user program returns a computed length (`ret a`), which pcap_compile
    /// does not generate.
    init?(user: [bpf_insn]?, dns: [bpf_insn]?, snapLength: UInt32) {
        var program: [bpf_insn] = []
        let dnsPart = dns ?? [bpf_insn(code: Self.retConstant, jt: 0, jf: 0, k: 0)]
        if let user {
            for (index, instruction) in user.enumerated() {
                guard instruction.code & Self.classMask == Self.retClass else {
                    program.append(instruction)
                    continue
                }
                guard instruction.code == Self.retConstant else { return nil }
                if instruction.k == 0 {
                    program.append(instruction)
                } else {
                    // BPF_JA's offset counts from the next instruction and is 32 bits wide.
                    program.append(bpf_insn(code: Self.jumpAlways, jt: 0, jf: 0, k: UInt32(user.count - index - 1)))
                }
            }
        }
        for instruction in dnsPart {
            guard instruction.code & Self.classMask == Self.retClass else {
                program.append(instruction)
                continue
            }
            guard instruction.code == Self.retConstant else { return nil }
            let keep = dns == nil || instruction.k == 0 ? snapLength : Self.dnsSnapLength
            program.append(bpf_insn(code: Self.retConstant, jt: 0, jf: 0, k: keep))
        }
        instructions = program
    }

    /// The program for `filter` (empty: everything) on a link of pcap type `linkType`,
    /// compiled as a live handle would compile it.
    public init(filter: String, linkType: Int32, snapLength: UInt32) throws(CaptureError) {
        guard let dead = pcap_open_dead(linkType, Int32(Self.dnsSnapLength)) else {
            throw CaptureError("link type \(linkType): libpcap cannot compile filters for it")
        }
        defer { pcap_close(dead) }
        self = try Self(filter: filter, snapLength: snapLength, name: "link type \(linkType)") { expression throws(CaptureError) in
            try Self.compile(expression, on: dead, name: "link type \(linkType)")
        }
    }

    /// The program over `filter`, compiling with `compile`; `name` says where in errors.
    init(filter: String, snapLength: UInt32, name: String,
         compile: (String) throws(CaptureError) -> [bpf_insn]) throws(CaptureError) {
        var user: [bpf_insn]? = nil
        if !filter.isEmpty { user = try compile(filter) }
        // A link type without IP (or one pcap cannot filter on UDP ports) has no DNS.
        let dns = try? compile(Self.dnsResponses)
        guard let program = Self(user: user, dns: dns, snapLength: snapLength) else {
            throw CaptureError("\(name): capture filter \"\(filter)\" returns a computed snap length; use a plain expression")
        }
        self = program
    }

    /// The instructions of `expression` compiled on `pcap`.
    static func compile(_ expression: String, on pcap: OpaquePointer, name: String) throws(CaptureError) -> [bpf_insn] {
        var program = bpf_program()
        guard pcap_compile(pcap, &program, expression, 1, cpcap_netmask_unknown) == 0 else {
            throw CaptureError("\(name): invalid capture filter \"\(expression)\": \(String(cString: pcap_geterr(pcap)))")
        }
        defer { pcap_freecode(&program) }
        return Array(UnsafeBufferPointer(start: program.bf_insns, count: Int(program.bf_len)))
    }

    /// What the program returns for `frame` (a whole frame, as the kernel sees it): the
    /// bytes kept, 0 when the packet is not captured.
    public func snapLength(of frame: [UInt8]) -> UInt32 {
        instructions.withUnsafeBufferPointer { program in
            frame.withUnsafeBufferPointer { bytes in
                bpf_filter(program.baseAddress, bytes.baseAddress, UInt32(bytes.count), UInt32(bytes.count))
            }
        }
    }
}
