#ifndef PLANET_CPCAP_SHIM_H
#define PLANET_CPCAP_SHIM_H
// libpcap, wrapped once at the edge; only the Capture module imports this.
#include <pcap/pcap.h>

// PCAP_ERROR codes are macros with casts Swift cannot import; give them names.
static const int cpcap_error_break = PCAP_ERROR_BREAK;
static const int cpcap_error_no_such_device = PCAP_ERROR_NO_SUCH_DEVICE;
static const int cpcap_error_perm_denied = PCAP_ERROR_PERM_DENIED;
static const int cpcap_error_iface_not_up = PCAP_ERROR_IFACE_NOT_UP;
static const int cpcap_warning_promisc_not_supported = PCAP_WARNING_PROMISC_NOTSUP;
static const unsigned int cpcap_netmask_unknown = PCAP_NETMASK_UNKNOWN;
#endif
