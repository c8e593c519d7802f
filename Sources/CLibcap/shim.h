// libcap: capability sets, the bounding set and prctl without C varargs (cap_prctlw).
#include <sys/capability.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
