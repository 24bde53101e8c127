/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The service match (docs/semantics.md, after rule 9): among the services of the key's VIP, the one
 * with the key's protocol and port, else the one with its protocol and no port, else the one with
 * neither. The VIP's entry (lbdsr_vips, already looked up for rules 7 and 8) holds the last two per
 * protocol; the port map is read only when the VIP has port services for the protocol. IPv6 keys
 * (`v6`) use lbdsr_ports6, and their svc_icmp is the ICMPv6 service (docs/semantics.md, rule 9a').
 */
#ifndef LBDSR_SERVICE_H
#define LBDSR_SERVICE_H

#include "maps.h"
#include "parse.h"

struct service_match {
	const struct lbdsr_service *svc;
	__u32 index;
};

/* Fills `sm` and returns 0, or returns LBDSR_DROP_NO_SERVICE. `key` is a struct lbdsr_flow_key, or a
 * struct lbdsr_flow_key6 when `v6` (a constant where this is inlined). */
static __always_inline __u32 service_match(const struct lbdsr_vip *v, const void *key, const int v6,
					   struct service_match *sm)
{
	const struct lbdsr_flow_key6 *k6 = key;
	const struct lbdsr_flow_key *k4 = key;
	__u8 proto = v6 ? k6->proto : k4->proto;
	__u16 dport = v6 ? k6->dport : k4->dport;
	__u32 idx, bit = 0, *p;

	if (proto == PROTO_TCP_) {
		idx = v->svc_tcp;
		bit = LBDSR_VIP_PORTS_TCP;
	} else if (proto == PROTO_UDP_) {
		idx = v->svc_udp;
		bit = LBDSR_VIP_PORTS_UDP;
	} else {
		idx = v->svc_icmp;
	}
	/* A key without a port (fragments without their first one, ICMP) matches no port service. */
	if ((v->port_protos & bit) && dport) {
		if (v6) {
			struct lbdsr_port_key6 pk6 = { .port = dport, .proto = proto };

			__builtin_memcpy(pk6.vip, k6->dst, 16);
			p = bpf_map_lookup_elem(&lbdsr_ports6, &pk6);
		} else {
			struct lbdsr_port_key pk = { .vip = k4->dst, .port = dport, .proto = proto };

			p = bpf_map_lookup_elem(&lbdsr_ports, &pk);
		}
		if (p)
			idx = *p;
	}
	if (idx == LBDSR_SVC_NONE)
		return LBDSR_DROP_NO_SERVICE;
	sm->index = idx;
	sm->svc = bpf_map_lookup_elem(&lbdsr_services, &sm->index);
	if (!sm->svc)
		return LBDSR_DROP_NO_SERVICE;
	return 0;
}

#endif
