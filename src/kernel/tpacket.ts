// The AF_PACKET structs of the kernel's UAPI (linux/if_packet.h, packet(7), packet_mmap.rst) as koffi
// struct types: ring requests, the TPACKET_V2 frame header, the TPACKET_V3 block descriptor and frame
// header, sockaddr_ll, packet_mreq, the statistics and virtio_net_hdr. The offsets the per-frame code
// reads on the rings are derived from them once and exported as plain numbers (no koffi call per frame);
// afpacket.ts re-exports them. test/unit/kernel-structs.test.ts checks the declarations against the
// running kernel's BTF.
import koffi from 'koffi';
import { type CType, kernelStruct, offsets } from './ctypes.js';

export const TPACKET_V2 = 1;
export const TPACKET_V3 = 2;

/** struct tpacket2_hdr (TPACKET_V2 frames). */
const TPACKET2_HDR = kernelStruct('tpacket2_hdr', {
  tp_status: 'uint32_t',
  tp_len: 'uint32_t',
  tp_snaplen: 'uint32_t',
  tp_mac: 'uint16_t',
  tp_net: 'uint16_t',
  tp_sec: 'uint32_t',
  tp_nsec: 'uint32_t',
  tp_vlan_tci: 'uint16_t',
  tp_vlan_tpid: 'uint16_t',
  tp_padding: koffi.array('uint8_t', 4),
});
/** struct tpacket_hdr_variant1: the V3 header's hashing and VLAN fields. */
const TPACKET_HDR_VARIANT1 = kernelStruct('tpacket_hdr_variant1', {
  tp_rxhash: 'uint32_t',
  tp_vlan_tci: 'uint32_t',
  tp_vlan_tpid: 'uint16_t',
  tp_padding: 'uint16_t',
});
/** struct tpacket3_hdr (frames inside a TPACKET_V3 block); `hv1` is its one-member union. */
const TPACKET3_HDR = kernelStruct('tpacket3_hdr', {
  tp_next_offset: 'uint32_t',
  tp_sec: 'uint32_t',
  tp_nsec: 'uint32_t',
  tp_snaplen: 'uint32_t',
  tp_len: 'uint32_t',
  tp_status: 'uint32_t',
  tp_mac: 'uint16_t',
  tp_net: 'uint16_t',
  hv1: TPACKET_HDR_VARIANT1,
  tp_padding: koffi.array('uint8_t', 8),
});
const TPACKET_BD_TS = kernelStruct('tpacket_bd_ts', { ts_sec: 'uint32_t', ts_nsec: 'uint32_t' });
/** struct tpacket_hdr_v1: the header of a TPACKET_V3 block. */
const TPACKET_HDR_V1 = kernelStruct('tpacket_hdr_v1', {
  block_status: 'uint32_t',
  num_pkts: 'uint32_t',
  offset_to_first_pkt: 'uint32_t',
  blk_len: 'uint32_t',
  seq_num: 'uint64_t',
  ts_first_pkt: TPACKET_BD_TS,
  ts_last_pkt: TPACKET_BD_TS,
});
/** struct tpacket_block_desc: version, offset_to_priv, then union tpacket_bd_header_u { bh1 }. */
const TPACKET_BLOCK_DESC = kernelStruct('tpacket_block_desc', {
  version: 'uint32_t',
  offset_to_priv: 'uint32_t',
  hdr: koffi.union({ bh1: TPACKET_HDR_V1 }),
});
/** struct sockaddr_ll (packet(7)); the protocol is big-endian on the wire and here. */
export const SOCKADDR_LL = kernelStruct('sockaddr_ll', {
  sll_family: 'uint16_t',
  sll_protocol: 'uint16_be_t',
  sll_ifindex: 'int',
  sll_hatype: 'uint16_t',
  sll_pkttype: 'uint8_t',
  sll_halen: 'uint8_t',
  sll_addr: koffi.array('uint8_t', 8, 'Typed'),
});
/** struct tpacket_req (PACKET_RX_RING / PACKET_TX_RING, TPACKET_V2). */
export const TPACKET_REQ = kernelStruct('tpacket_req', {
  tp_block_size: 'uint32_t',
  tp_block_nr: 'uint32_t',
  tp_frame_size: 'uint32_t',
  tp_frame_nr: 'uint32_t',
});
/** struct tpacket_req3 (PACKET_RX_RING, TPACKET_V3). */
export const TPACKET_REQ3 = kernelStruct('tpacket_req3', {
  tp_block_size: 'uint32_t',
  tp_block_nr: 'uint32_t',
  tp_frame_size: 'uint32_t',
  tp_frame_nr: 'uint32_t',
  tp_retire_blk_tov: 'uint32_t',
  tp_sizeof_priv: 'uint32_t',
  tp_feature_req_word: 'uint32_t',
});
/** struct packet_mreq (PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP). */
export const PACKET_MREQ = koffi.struct({
  mr_ifindex: 'int',
  mr_type: 'uint16_t',
  mr_alen: 'uint16_t',
  mr_address: koffi.array('uint8_t', 8, 'Typed'),
});
/** struct tpacket_stats_v3 (PACKET_STATISTICS; V2 sockets fill the first two fields). */
export const TPACKET_STATS_V3 = kernelStruct('tpacket_stats_v3', {
  tp_packets: 'uint32_t',
  tp_drops: 'uint32_t',
  tp_freeze_q_cnt: 'uint32_t',
});
/** struct virtio_net_hdr (PACKET_VNET_HDR). */
const VIRTIO_NET_HDR = kernelStruct('virtio_net_hdr', {
  flags: 'uint8_t',
  gso_type: 'uint8_t',
  hdr_len: 'uint16_t',
  gso_size: 'uint16_t',
  csum_start: 'uint16_t',
  csum_offset: 'uint16_t',
});

// Field offsets the per-frame code reads on the rings (plain numbers: no koffi call per frame).
const BD_HDR = koffi.offsetof(TPACKET_BLOCK_DESC, 'hdr');
const BH1 = offsets(TPACKET_HDR_V1, ['block_status', 'num_pkts', 'offset_to_first_pkt']);
/** struct tpacket_block_desc (TPACKET_V3 RX blocks): where the block header's fields are. */
export const BLK_STATUS = BD_HDR + BH1.block_status;
export const BLK_NUM_PKTS = BD_HDR + BH1.num_pkts;
export const BLK_FIRST_PKT = BD_HDR + BH1.offset_to_first_pkt;
const TP3 = offsets(TPACKET3_HDR, ['tp_next_offset', 'tp_snaplen', 'tp_len', 'tp_status', 'tp_mac', 'hv1']);
const HV1 = offsets(TPACKET_HDR_VARIANT1, ['tp_vlan_tci', 'tp_vlan_tpid']);
/** struct tpacket3_hdr field offsets. */
export const TP3_NEXT = TP3.tp_next_offset;
export const TP3_SNAPLEN = TP3.tp_snaplen;
export const TP3_LEN = TP3.tp_len;
export const TP3_STATUS = TP3.tp_status;
export const TP3_MAC = TP3.tp_mac;
export const TP3_VLAN_TCI = TP3.hv1 + HV1.tp_vlan_tci;
export const TP3_VLAN_TPID = TP3.hv1 + HV1.tp_vlan_tpid;

/** tpacket2_hdr status bits. RX: KERNEL=0 owned by the kernel, USER=1 filled for us. */
export const TP_STATUS_KERNEL = 0;
export const TP_STATUS_USER = 1;
export const TP_STATUS_LOSING = 4;
export const TP_STATUS_VLAN_VALID = 0x10;
/** TX: AVAILABLE=0 free for us, SEND_REQUEST=1 queued, SENDING=2, WRONG_FORMAT=4 rejected. */
export const TP_STATUS_AVAILABLE = 0;
export const TP_STATUS_SEND_REQUEST = 1;
export const TP_STATUS_SENDING = 2;
export const TP_STATUS_WRONG_FORMAT = 4;

const TP2 = offsets(TPACKET2_HDR, ['tp_status', 'tp_len', 'tp_snaplen', 'tp_mac', 'tp_net']);
const TP2V = offsets(TPACKET2_HDR, ['tp_vlan_tci', 'tp_vlan_tpid']);
/** struct tpacket2_hdr field offsets. */
export const TP2_STATUS = TP2.tp_status;
export const TP2_LEN = TP2.tp_len;
export const TP2_SNAPLEN = TP2.tp_snaplen;
export const TP2_MAC = TP2.tp_mac;
export const TP2_NET = TP2.tp_net;
export const TP2_VLAN_TCI = TP2V.tp_vlan_tci;
export const TP2_VLAN_TPID = TP2V.tp_vlan_tpid;
/** Rings are made of whole pages (x86-64 and arm64 with 4 KiB pages). */
export const PAGE_SIZE = 4096;
/** TPACKET_ALIGNMENT: frame headers and data are aligned to it. */
export const TPACKET_ALIGNMENT = 16;
const tpacketAlign = (n: number) => Math.ceil(n / TPACKET_ALIGNMENT) * TPACKET_ALIGNMENT;
/**
 * TX frames: the kernel takes the data at TPACKET2_HDRLEN - sizeof(struct sockaddr_ll), that is
 * TPACKET_ALIGN(sizeof(struct tpacket2_hdr)).
 */
export const TP2_TX_DATA = tpacketAlign(koffi.sizeof(TPACKET2_HDR));
/** struct virtio_net_hdr (PACKET_VNET_HDR): precedes the frame in both directions. */
export const VNET_HDR_LEN = koffi.sizeof(VIRTIO_NET_HDR);
const VNET = offsets(VIRTIO_NET_HDR, ['gso_type', 'hdr_len']);
/** virtio_net_hdr.gso_type (VIRTIO_NET_HDR_GSO_NONE = 0: not a GSO frame). */
export const VNET_GSO_TYPE = VNET.gso_type;
/**
 * virtio_net_hdr.hdr_len (16 bits, host order for packet sockets): on a TX ring, the bytes the kernel
 * copies into the socket buffer's linear part; the rest of the frame is attached as page fragments.
 */
export const VNET_HDR_LEN_FIELD = VNET.hdr_len;

/** A struct value encoded into fresh bytes (setsockopt and bind arguments). */
export function encoded(type: CType, value: object): Uint8Array {
  const b = new Uint8Array(koffi.sizeof(type));
  koffi.encode(b, type, value);
  return b;
}
