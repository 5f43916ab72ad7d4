/*
 * rpd-loadgen: load generator for reuseportd integration tests, benchmarks and deployment checks.
 *
 * Owns: command line parsing, a single-threaded epoll engine (non-blocking TCP/HTTP exchanges
 * and connected UDP flows), classification of every request, the latency histogram and the
 * text/JSON report.  Leaves to others: the servers under test (they answer HTTP GET with the
 * body "slot=S pid=P gen=G\n" and echo UDP datagrams behind the prefix "slot=S pid=P gen=G "),
 * the build rules, and the interpretation of the report by test scripts.
 *
 * Notes for users:
 * - TCP connections are closed normally (never with RST), so the side that closes first keeps
 *   the 4-tuple in TIME_WAIT.  Long runs with --keepalive 1 use one ephemeral port per
 *   request; raise --keepalive or widen net.ipv4.ip_local_port_range if ports run out
 *   (this shows up as "errno EADDRNOTAVAIL").
 * - With --tcp --flows F --source-port P every connection of flow i is bound to port P+i.  To
 *   let the server, not the client, hold TIME_WAIT, such a flow waits for the server to close
 *   after "Connection: close" (bounded by --timeout) before it is reused.  Reconnecting from the
 *   same port still depends on the server's TIME_WAIT handling; use distinct ports per run,
 *   outside net.ipv4.ip_local_port_range (a leftover TIME_WAIT there gives EADDRINUSE).
 * - UDP flows default to --concurrency (1), also in open loop: give --flows for high rates.
 * - Exit status 1 also when open-loop starts were skipped at --max-inflight.
 * - A second SIGINT/SIGTERM terminates immediately without a report.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define PROG "rpd-loadgen"

#define EXIT_ALL_OK 0
#define EXIT_NOT_OK 1
#define EXIT_USAGE 2
#define EXIT_START 3

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

#define HEAD_CAP 8192 /* response head must fit in this */
#define BODY_CAP 256 /* body prefix kept for the slot= search */
#define REQ_CAP 512
#define DGRAM_CAP 64
#define UDP_RX_CAP 2048
#define SLOT_MAX 65535
#define ERRNO_SLOTS 256 /* errno values >= this are counted under slot 0 */
#define MAX_EVENTS 256
#define MAX_POOL 1000000U

/* Log-linear latency histogram: 128 sub-buckets per power of two, relative error < 0.8%. */
#define HIST_SUB_BITS 7
#define HIST_SUB (1U << HIST_SUB_BITS)
#define HIST_MAX_US ((1ULL << 40) - 1)
#define HIST_N ((40 - HIST_SUB_BITS + 1) * HIST_SUB)

enum proto {
	PROTO_NONE,
	PROTO_TCP,
	PROTO_UDP,
};

struct config {
	enum proto proto;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	char host[128]; /* HOST:PORT as given, used for the Host header */
	bool have_src;
	struct sockaddr_storage src;
	socklen_t src_len;
	unsigned int src_port; /* 0: none */
	unsigned long long count;
	double duration;
	bool duration_set;
	unsigned int concurrency;
	double rate; /* 0: closed loop */
	unsigned int max_inflight;
	unsigned int timeout_ms;
	unsigned int flows;
	bool flows_set;
	const char *flow_map;
	unsigned int keepalive;
	bool keepalive_set;
	bool json;
	bool quiet;
	bool help;
};

/* ---------------------------------------------------------------------------------------- */
/* Argument parsing                                                                         */
/* ---------------------------------------------------------------------------------------- */

static const char usage_text[] =
	"usage: " PROG " (--tcp HOST:PORT | --udp HOST:PORT) [options]\n"
	"  HOST is an IPv4 address or an [IPv6] address in brackets,\n"
	"  e.g. 127.0.0.1:8080 or [::1]:8080\n"
	"  --count N          total requests (default 1000); 0 = unlimited, needs --duration\n"
	"  --duration SEC     stop starting requests after SEC seconds (default 60), then\n"
	"                     wait for in-flight ones (bounded by --timeout)\n"
	"  --concurrency C    closed loop: keep C requests in flight (default 1)\n"
	"  --rate R           open loop: start R requests per second, evenly spaced\n"
	"  --max-inflight M   open-loop in-flight cap (default 10000); starts missed at\n"
	"                     the cap are counted as \"skipped\"\n"
	"  --timeout MS       per-request deadline from its start (default 2000)\n"
	"  --source ADDR      bind every client socket to this source address\n"
	"  --source-port P    fixed source ports P..P+flows-1 (UDP; TCP only with --flows)\n"
	"  --flows F          UDP: flows (sockets), default = concurrency; TCP: connection\n"
	"                     slots; each flow has at most one request in flight\n"
	"  --flow-map FILE    write \"<source-port> <last slot or -1>\" per flow\n"
	"                     (UDP, or TCP with --flows and --source-port)\n"
	"  --keepalive N      TCP: requests per connection (default 1)\n"
	"  --json             print the report as one JSON object\n"
	"  --quiet            no progress output on stderr\n"
	"  --help             show this help\n"
	"exit status: 0 all requests ok, 1 some not ok or skipped, 2 usage error,\n"
	"3 could not start\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static int parse_uint(const char *flag, const char *s, unsigned long long min,
		      unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return usage_error("%s: expected an integer from %llu to %llu, got '%s'", flag, min, max,
			   s);
}

static int parse_uint32(const char *flag, const char *s, unsigned int min, unsigned int max,
			unsigned int *out)
{
	unsigned long long v = 0;
	int rc;

	rc = parse_uint(flag, s, min, max, &v);
	if (!rc)
		*out = (unsigned int)v;
	return rc;
}

static int parse_positive(const char *flag, const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || !(v > 0) || (errno && errno != ERANGE))
		return usage_error("%s: expected a positive number, got '%s'", flag, s);
	if (!(v <= max))
		return usage_error("%s: expected a number no larger than %g, got '%s'", flag, max,
				   s);
	*out = v;
	return 0;
}

/* Numeric only: getaddrinfo() with AI_NUMERICHOST never does a name lookup. */
static int numeric_addr(const char *host, int family, const char *port, struct sockaddr_storage *ss,
			socklen_t *len)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	int rc;

	hints.ai_family = family;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc || !ai || ai->ai_addrlen > sizeof(*ss)) {
		rc = -EINVAL;
		goto out;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	rc = 0;
out:
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

static int parse_hostport(const char *flag, const char *s, struct config *cfg)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *colon, *h = s;
	unsigned long long port;
	size_t hlen;
	char *end;
	int family = AF_INET;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			goto bad;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
		family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return usage_error("%s: IPv6 addresses need brackets, e.g. [::1]:8080, got "
					   "'%s'",
					   flag, s);
	}
	if (!hlen || hlen >= sizeof(host) || strlen(s) >= sizeof(cfg->host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	errno = 0;
	port = strtoull(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return usage_error("%s: expected a port from 1 to 65535, got '%s'", flag, s);
	if (numeric_addr(host, family, colon + 1, &cfg->dst, &cfg->dst_len))
		goto bad;
	strcpy(cfg->host, s);
	return 0;
bad:
	return usage_error("%s: expected HOST:PORT with an IPv4 address or an [IPv6] address, "
			   "got '%s'",
			   flag, s);
}

static int parse_source(const char *flag, const char *s, struct config *cfg)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (!len || len >= sizeof(host))
		goto bad;
	memcpy(host, s, len);
	host[len] = '\0';
	if (numeric_addr(host, AF_UNSPEC, "0", &cfg->src, &cfg->src_len))
		goto bad;
	cfg->have_src = true;
	return 0;
bad:
	return usage_error("%s: expected an IPv4 or IPv6 address, got '%s'", flag, s);
}

enum opt_id {
	OPT_TCP = 256,
	OPT_UDP,
	OPT_COUNT,
	OPT_DURATION,
	OPT_CONCURRENCY,
	OPT_RATE,
	OPT_MAX_INFLIGHT,
	OPT_TIMEOUT,
	OPT_SOURCE,
	OPT_SOURCE_PORT,
	OPT_FLOWS,
	OPT_FLOW_MAP,
	OPT_KEEPALIVE,
	OPT_JSON,
	OPT_QUIET,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "tcp", required_argument, NULL, OPT_TCP },
	{ "udp", required_argument, NULL, OPT_UDP },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "source-port", required_argument, NULL, OPT_SOURCE_PORT },
	{ "flows", required_argument, NULL, OPT_FLOWS },
	{ "flow-map", required_argument, NULL, OPT_FLOW_MAP },
	{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int parse_one(struct config *cfg, int id, const char *flag, const char *arg)
{
	switch (id) {
	case OPT_TCP:
	case OPT_UDP:
		if (cfg->proto != PROTO_NONE)
			return usage_error("%s: only one of --tcp or --udp may be given", flag);
		cfg->proto = id == OPT_TCP ? PROTO_TCP : PROTO_UDP;
		return parse_hostport(flag, arg, cfg);
	case OPT_COUNT:
		return parse_uint(flag, arg, 0, 1000000000000ULL, &cfg->count);
	case OPT_DURATION:
		cfg->duration_set = true;
		return parse_positive(flag, arg, 1e6, &cfg->duration);
	case OPT_CONCURRENCY:
		return parse_uint32(flag, arg, 1, MAX_POOL, &cfg->concurrency);
	case OPT_RATE:
		return parse_positive(flag, arg, 1e7, &cfg->rate);
	case OPT_MAX_INFLIGHT:
		return parse_uint32(flag, arg, 1, MAX_POOL, &cfg->max_inflight);
	case OPT_TIMEOUT:
		return parse_uint32(flag, arg, 1, 3600000, &cfg->timeout_ms);
	case OPT_SOURCE:
		return parse_source(flag, arg, cfg);
	case OPT_SOURCE_PORT:
		return parse_uint32(flag, arg, 1, 65535, &cfg->src_port);
	case OPT_FLOWS:
		cfg->flows_set = true;
		return parse_uint32(flag, arg, 1, MAX_POOL, &cfg->flows);
	case OPT_FLOW_MAP:
		if (!arg[0])
			return usage_error("%s: expected a file name", flag);
		cfg->flow_map = arg;
		return 0;
	case OPT_KEEPALIVE:
		cfg->keepalive_set = true;
		return parse_uint32(flag, arg, 1, 1000000000, &cfg->keepalive);
	case OPT_JSON:
		cfg->json = true;
		return 0;
	case OPT_QUIET:
		cfg->quiet = true;
		return 0;
	case OPT_HELP:
		cfg->help = true;
		return 0;
	default:
		return usage_error("%s: unknown option", flag);
	}
}

/* Cross-option checks and defaults; runs after every option is known. */
static int check_config(struct config *cfg)
{
	if (cfg->proto == PROTO_NONE)
		return usage_error("one of --tcp HOST:PORT or --udp HOST:PORT is required");
	if (!cfg->count && !cfg->duration_set)
		return usage_error("--count: 0 (unlimited) requires --duration");
	if (!cfg->duration_set)
		cfg->duration = 60;
	if (cfg->keepalive_set && cfg->proto != PROTO_TCP)
		return usage_error("--keepalive: only valid with --tcp");
	if (cfg->have_src && cfg->src.ss_family != cfg->dst.ss_family)
		return usage_error("--source: address family does not match the destination");
	if (cfg->proto == PROTO_UDP && !cfg->flows_set)
		cfg->flows = cfg->concurrency;
	if (cfg->src_port && cfg->proto == PROTO_TCP && !cfg->flows_set) {
		if (!cfg->quiet)
			fprintf(stderr, PROG ": --source-port: ignored with --tcp unless --flows "
					     "is given\n");
		cfg->src_port = 0;
	}
	if (cfg->src_port && cfg->src_port + (unsigned long long)cfg->flows - 1 > 65535)
		return usage_error("--source-port: %u + %u flows exceeds port 65535", cfg->src_port,
				   cfg->flows);
	if (cfg->flow_map && cfg->proto == PROTO_TCP && !cfg->src_port)
		return usage_error("--flow-map: with --tcp requires --flows and --source-port");
	return 0;
}

static void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->count = 1000;
	cfg->duration = 60;
	cfg->concurrency = 1;
	cfg->max_inflight = 10000;
	cfg->timeout_ms = 2000;
	cfg->keepalive = 1;
}

/* Returns 0 or -EINVAL after printing one line naming the bad flag or value. */
static int parse_args(int argc, char **argv, struct config *cfg)
{
	int c, idx, rc;

	config_defaults(cfg);
	opterr = 0;
	for (;;) {
		idx = -1;
		c = getopt_long(argc, argv, ":h", long_opts, &idx);
		if (c == -1)
			break;
		if (c == 'h') {
			cfg->help = true;
			continue;
		}
		if (c == '?')
			return usage_error("%s: unknown option", argv[optind - 1]);
		if (c == ':')
			return usage_error("%s: missing value", argv[optind - 1]);
		if (idx < 0) {
			/* Not reachable with long options only; be explicit anyway. */
			return usage_error("%s: unknown option", argv[optind - 1]);
		}
		{
			char flag[32];

			snprintf(flag, sizeof(flag), "--%s", long_opts[idx].name);
			rc = parse_one(cfg, c, flag, optarg);
		}
		if (rc)
			return rc;
		if (cfg->help)
			return 0;
	}
	if (cfg->help)
		return 0;
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return check_config(cfg);
}

/* ---------------------------------------------------------------------------------------- */
/* Statistics                                                                               */
/* ---------------------------------------------------------------------------------------- */

enum outcome {
	OUT_OK,
	OUT_REFUSED,
	OUT_RESET,
	OUT_TIMEOUT,
	OUT_OTHER,
	OUT_BADREPLY,
	OUT_N,
};

static const char *const outcome_names[OUT_N] = {
	"ok", "refused", "reset", "timeout", "other", "badreply",
};

struct stats {
	uint64_t out[OUT_N];
	uint64_t skipped;
	uint64_t errnos[ERRNO_SLOTS];
	uint64_t hist[HIST_N];
	uint64_t lat_max;
	uint64_t slots[SLOT_MAX + 1];
};

static unsigned int hist_index(uint64_t v)
{
	unsigned int shift;

	if (v > HIST_MAX_US)
		v = HIST_MAX_US;
	if (v < 2 * HIST_SUB)
		return (unsigned int)v;
	shift = (unsigned int)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned int)(v >> shift);
}

/* Midpoint of a bucket. */
static uint64_t hist_value(unsigned int idx)
{
	unsigned int shift;
	uint64_t m;

	if (idx < 2 * HIST_SUB)
		return idx;
	shift = idx / HIST_SUB - 1;
	m = idx - shift * HIST_SUB;
	return (m << shift) + ((1ULL << shift) >> 1);
}

/* per10k: 5000 for p50, 9900 for p99, 9990 for p99.9. */
static uint64_t hist_percentile(const struct stats *st, unsigned int per10k)
{
	uint64_t n = st->out[OUT_OK], rank, cum = 0, v;
	unsigned int i;

	if (!n)
		return 0;
	rank = (n * per10k + 9999) / 10000;
	if (!rank)
		rank = 1;
	for (i = 0; i < HIST_N; i++) {
		cum += st->hist[i];
		if (cum >= rank) {
			v = hist_value(i);
			return v > st->lat_max ? st->lat_max : v;
		}
	}
	return st->lat_max;
}

static void stats_record(struct stats *st, enum outcome out, int err, uint64_t lat_ns, int slot)
{
	uint64_t us;

	st->out[out]++;
	if (out == OUT_OTHER)
		st->errnos[err > 0 && err < ERRNO_SLOTS ? err : 0]++;
	if (out != OUT_OK)
		return;
	us = lat_ns / NSEC_PER_USEC;
	st->hist[hist_index(us)]++;
	if (us > st->lat_max)
		st->lat_max = us;
	if (slot >= 0 && slot <= SLOT_MAX)
		st->slots[slot]++;
}

static uint64_t stats_requests(const struct stats *st)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < OUT_N; i++)
		n += st->out[i];
	return n;
}

static const char *errno_name(int idx, char *buf, size_t len)
{
	const char *name = idx ? strerrorname_np(idx) : NULL;

	if (name)
		return name;
	if (idx)
		snprintf(buf, len, "E%d", idx);
	else
		snprintf(buf, len, "EUNKNOWN");
	return buf;
}

static enum outcome classify(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return OUT_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return OUT_RESET;
	default:
		return OUT_OTHER;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Engine                                                                                   */
/* ---------------------------------------------------------------------------------------- */

struct node {
	struct node *prev, *next;
};

#define node_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static void node_init(struct node *n)
{
	n->prev = n;
	n->next = n;
}

static bool node_empty(const struct node *head)
{
	return head->next == head;
}

static void node_add_tail(struct node *head, struct node *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void node_del(struct node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	node_init(n);
}

enum flow_state {
	FS_IDLE, /* no request, no connection */
	FS_CONNECTING,
	FS_SENDING,
	FS_READING,
	FS_KEEPIDLE, /* no request, keep-alive connection open */
	FS_DRAINING, /* no request, waiting for the server to close first */
	FS_UDPWAIT, /* datagram sent, waiting for its echo */
};

enum body_mode {
	BODY_LENGTH,
	BODY_CHUNKED,
	BODY_EOF,
};

enum chunk_state {
	CH_SIZE,
	CH_EXT,
	CH_DATA,
	CH_DATA_END,
	CH_TRAILER,
};

struct flow {
	struct node dl; /* on engine->deadlines while a deadline is pending */
	struct node q; /* on an idle queue while no request is in flight */
	int fd;
	unsigned int id;
	enum flow_state state;
	unsigned int sport;
	int last_slot;
	int slot; /* slot of the current reply, -1 if none */
	uint64_t start_ns;
	uint64_t deadline_ns;

	/* TCP */
	unsigned int nreq; /* requests started on the current connection */
	bool last; /* current request carries "Connection: close" */
	bool reusable;
	bool peer_closed;
	size_t sent;
	char *buf;
	size_t blen;
	bool head_done;
	int status;
	enum body_mode mode;
	uint64_t remain;
	enum chunk_state ch;
	bool ch_digits;
	size_t trailer_line;
	char body[BODY_CAP];
	size_t body_len;

	/* UDP */
	uint64_t seq;
	char dgram[DGRAM_CAP];
	size_t dgram_len;
};

struct engine {
	const struct config *cfg;
	struct stats *st;
	struct flow *flows;
	unsigned int nflows;
	unsigned int limit; /* max requests in flight */
	int epfd;
	int tfd;
	int sfd;
	struct node idle_conn; /* TCP flows with an idle keep-alive connection */
	struct node idle; /* flows without a connection or request */
	struct node deadlines; /* earliest first: every deadline is "now + timeout" */
	unsigned int inflight;
	uint64_t scheduled; /* starts made plus starts skipped */
	uint64_t t0, t_end, end_ns, timeout_ns, armed, next_progress;
	bool stopping;
	bool interrupted;
	bool more; /* closed loop: start budget ran out, poll without blocking */
	char req[2][REQ_CAP]; /* [0] keep-alive, [1] with "Connection: close" */
	size_t req_len[2];
	FILE *flow_map;
};

static char tag_timer, tag_signal;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sa_set_port(struct sockaddr_storage *ss, unsigned int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static unsigned int sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Source address for flow @f: --source (or the wildcard) with its fixed port, if any. */
static void flow_source(const struct engine *e, const struct flow *f, struct sockaddr_storage *ss,
			socklen_t *len)
{
	const struct config *c = e->cfg;

	if (c->have_src) {
		*ss = c->src;
		*len = c->src_len;
	} else {
		memset(ss, 0, sizeof(*ss));
		ss->ss_family = c->dst.ss_family;
		*len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6);
	}
	sa_set_port(ss, c->src_port ? c->src_port + f->id : 0);
}

/* Binds a fresh socket as --source/--source-port ask; nothing to do without them. */
static int bind_source(struct engine *e, struct flow *f, int fd)
{
	const struct config *c = e->cfg;
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (!c->have_src && !c->src_port)
		return 0;
	if (c->src_port) {
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
			return -errno;
	} else if (c->proto == PROTO_TCP) {
		/* Let connect() pick the port from the full 4-tuple space. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	}
	flow_source(e, f, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	return 0;
}

static void flow_close(struct engine *e, struct flow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->state = FS_IDLE;
	node_del(&f->dl);
	node_del(&f->q);
	node_add_tail(&e->idle, &f->q);
}

static void deadline_add(struct engine *e, struct flow *f, uint64_t now)
{
	f->deadline_ns = now + e->timeout_ns;
	node_del(&f->dl);
	node_add_tail(&e->deadlines, &f->dl);
}

/*
 * Ends the request in flight on @f: records it and decides what happens to the connection.
 * Called from within tcp_step() for complete responses, so a kept connection's next state is
 * handled there.
 */
static void finish(struct engine *e, struct flow *f, enum outcome out, int err)
{
	uint64_t now = mono_ns();
	bool answered = out == OUT_OK || out == OUT_BADREPLY;

	stats_record(e->st, out, err, now - f->start_ns, f->slot);
	if (out == OUT_OK)
		f->last_slot = f->slot;
	node_del(&f->dl);
	e->inflight--;
	if (e->cfg->proto == PROTO_UDP) {
		f->state = FS_IDLE;
		node_add_tail(&e->idle, &f->q);
		return;
	}
	if (answered && f->reusable && !f->last) {
		f->state = FS_KEEPIDLE;
		node_add_tail(&e->idle_conn, &f->q);
	} else if (answered && e->cfg->src_port && !f->peer_closed) {
		f->state = FS_DRAINING;
		deadline_add(e, f, now);
	} else {
		flow_close(e, f);
	}
}

static bool val_has(const char *v, size_t vlen, const char *tok)
{
	size_t tlen = strlen(tok), i;

	for (i = 0; i + tlen <= vlen; i++)
		if (!strncasecmp(v + i, tok, tlen))
			return true;
	return false;
}

static bool hdr_is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && !strncasecmp(name, want, nlen);
}

/* Parses a complete response head (@len includes the final blank line). */
static int http_parse_head(struct flow *f, const char *p, size_t len)
{
	const char *end = p + len, *eol, *colon, *v;
	unsigned long long clen = 0;
	bool have_len = false, chunked = false;
	size_t vlen, nlen;
	int i;

	eol = memmem(p, len, "\r\n", 2);
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ')
		return -EBADMSG;
	f->status = 0;
	for (i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		f->status = f->status * 10 + (p[i] - '0');
	}
	if (eol - p > 12 && p[12] != ' ')
		return -EBADMSG;
	f->reusable = p[7] == '1' && !f->last;
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol || eol == p)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			return -EBADMSG;
		nlen = (size_t)(colon - p);
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(eol - v);
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (hdr_is(p, nlen, "content-length")) {
			if (!vlen)
				return -EBADMSG;
			clen = 0;
			for (size_t k = 0; k < vlen; k++) {
				if (v[k] < '0' || v[k] > '9' || clen > (1ULL << 50))
					return -EBADMSG;
				clen = clen * 10 + (unsigned long long)(v[k] - '0');
			}
			have_len = true;
		} else if (hdr_is(p, nlen, "transfer-encoding")) {
			if (val_has(v, vlen, "chunked"))
				chunked = true;
		} else if (hdr_is(p, nlen, "connection")) {
			if (val_has(v, vlen, "close"))
				f->reusable = false;
			else if (val_has(v, vlen, "keep-alive") && !f->last)
				f->reusable = true;
		}
	}
	if (f->status / 100 == 1 || f->status == 204 || f->status == 304) {
		f->mode = BODY_LENGTH;
		f->remain = 0;
	} else if (chunked) {
		f->mode = BODY_CHUNKED;
		f->ch = CH_SIZE;
		f->remain = 0;
		f->ch_digits = false;
	} else if (have_len) {
		f->mode = BODY_LENGTH;
		f->remain = clen;
	} else {
		f->mode = BODY_EOF;
		f->reusable = false;
	}
	return 0;
}

static void body_capture(struct flow *f, const char *p, size_t n)
{
	size_t room = sizeof(f->body) - f->body_len;

	if (n > room)
		n = room;
	memcpy(f->body + f->body_len, p, n);
	f->body_len += n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Consumes body bytes; sets *done at the end of the body.  Returns bytes used or -EBADMSG. */
static ssize_t body_feed(struct flow *f, const char *p, size_t n, bool *done)
{
	size_t i = 0, take;
	int h;

	*done = false;
	if (f->mode == BODY_EOF) {
		body_capture(f, p, n);
		return (ssize_t)n;
	}
	if (f->mode == BODY_LENGTH) {
		take = n < f->remain ? n : (size_t)f->remain;
		body_capture(f, p, take);
		f->remain -= take;
		*done = !f->remain;
		return (ssize_t)take;
	}
	while (i < n) {
		char c = p[i];

		switch (f->ch) {
		case CH_SIZE:
		case CH_EXT:
			i++;
			if (c == '\n') {
				if (!f->ch_digits)
					return -EBADMSG;
				f->ch = f->remain ? CH_DATA : CH_TRAILER;
				f->trailer_line = 0;
			} else if (f->ch == CH_EXT || c == '\r') {
				/* chunk extensions and CR are ignored */
			} else if (c == ';' || c == ' ' || c == '\t') {
				f->ch = CH_EXT;
			} else {
				h = hexval(c);
				if (h < 0 || f->remain > (1ULL << 40))
					return -EBADMSG;
				f->remain = f->remain * 16 + (uint64_t)h;
				f->ch_digits = true;
			}
			break;
		case CH_DATA:
			take = n - i < f->remain ? n - i : (size_t)f->remain;
			body_capture(f, p + i, take);
			i += take;
			f->remain -= take;
			if (!f->remain)
				f->ch = CH_DATA_END;
			break;
		case CH_DATA_END:
			i++;
			if (c == '\n') {
				f->ch = CH_SIZE;
				f->ch_digits = false;
				f->remain = 0;
			} else if (c != '\r') {
				return -EBADMSG;
			}
			break;
		case CH_TRAILER:
			i++;
			if (c == '\n') {
				if (!f->trailer_line) {
					*done = true;
					return (ssize_t)i;
				}
				f->trailer_line = 0;
			} else if (c != '\r') {
				f->trailer_line++;
			}
			break;
		}
	}
	return (ssize_t)i;
}

static int parse_slot(const char *p, size_t n)
{
	const char *s = memmem(p, n, "slot=", 5), *end = p + n;
	int v = 0;

	if (!s)
		return -1;
	s += 5;
	if (s >= end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (*s - '0');
		if (v > SLOT_MAX)
			return -1;
		s++;
	}
	return v;
}

/* Advances the response parser over f->buf.  Returns 1 when complete, 0 for more, or <0. */
static int http_progress(struct flow *f)
{
	const char *hend;
	size_t hlen;
	ssize_t used;
	bool done;
	int rc;

	while (!f->head_done) {
		hend = memmem(f->buf, f->blen, "\r\n\r\n", 4);
		if (!hend)
			return f->blen >= HEAD_CAP ? -EMSGSIZE : 0;
		hlen = (size_t)(hend - f->buf) + 4;
		rc = http_parse_head(f, f->buf, hlen);
		if (rc)
			return rc;
		f->blen -= hlen;
		memmove(f->buf, f->buf + hlen, f->blen);
		/* An interim 1xx response is followed by the real one. */
		if (f->status / 100 != 1)
			f->head_done = true;
	}
	used = body_feed(f, f->buf, f->blen, &done);
	if (used < 0)
		return (int)used;
	f->blen -= (size_t)used;
	memmove(f->buf, f->buf + used, f->blen);
	if (!done)
		return 0;
	if (f->blen)
		f->reusable = false; /* unsolicited bytes: do not trust this connection */
	return 1;
}

static void tcp_complete(struct engine *e, struct flow *f)
{
	f->slot = parse_slot(f->body, f->body_len);
	finish(e, f, f->status == 200 && f->slot >= 0 ? OUT_OK : OUT_BADREPLY, 0);
}

static void tcp_read(struct engine *e, struct flow *f)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = recv(f->fd, f->buf + f->blen, HEAD_CAP - f->blen, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			finish(e, f, classify(errno), errno);
			return;
		}
		if (!n) {
			f->peer_closed = true;
			if (f->head_done && f->mode == BODY_EOF)
				tcp_complete(e, f);
			else
				finish(e, f, OUT_RESET, 0);
			return;
		}
		f->blen += (size_t)n;
		rc = http_progress(f);
		if (rc < 0) {
			f->reusable = false;
			f->slot = -1;
			finish(e, f, OUT_BADREPLY, 0);
			return;
		}
		if (rc > 0) {
			tcp_complete(e, f);
			return;
		}
	}
}

/* Drives a TCP flow as far as its socket allows; @events are from epoll (0 when starting). */
static void tcp_step(struct engine *e, struct flow *f, uint32_t events)
{
	const char *req;
	char scratch[512];
	socklen_t len;
	size_t rlen;
	ssize_t n;
	int err;

	for (;;) {
		switch (f->state) {
		case FS_CONNECTING:
			if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				return;
			err = 0;
			len = sizeof(err);
			if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (!err && !(events & EPOLLOUT))
				err = ECONNRESET;
			if (err) {
				finish(e, f, classify(err), err);
				return;
			}
			f->state = FS_SENDING;
			break;
		case FS_SENDING:
			req = e->req[f->last];
			rlen = e->req_len[f->last];
			n = send(f->fd, req + f->sent, rlen - f->sent, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return;
				finish(e, f, classify(errno), errno);
				return;
			}
			f->sent += (size_t)n;
			if (f->sent == rlen)
				f->state = FS_READING;
			break;
		case FS_READING:
			tcp_read(e, f);
			if (f->state == FS_READING)
				return;
			break;
		case FS_KEEPIDLE:
		case FS_DRAINING:
			n = recv(f->fd, scratch, sizeof(scratch), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (n > 0 && f->state == FS_DRAINING)
				continue;
			/* EOF, error, or unsolicited data on an idle connection. */
			flow_close(e, f);
			return;
		default:
			return;
		}
	}
}

static void tcp_start(struct engine *e, struct flow *f)
{
	const struct config *c = e->cfg;
	struct epoll_event ev = { 0 };
	int fd = -1, err, rc;

	f->slot = -1;
	f->sent = 0;
	f->blen = 0;
	f->head_done = false;
	f->body_len = 0;
	f->status = 0;
	if (!f->buf) {
		f->buf = malloc(HEAD_CAP);
		if (!f->buf) {
			finish(e, f, OUT_OTHER, ENOMEM);
			return;
		}
	}
	if (f->fd >= 0) {
		f->nreq++;
		f->last = f->nreq >= c->keepalive;
		f->state = FS_SENDING;
		tcp_step(e, f, 0);
		return;
	}
	f->nreq = 1;
	f->last = f->nreq >= c->keepalive;
	f->peer_closed = false;
	fd = socket(c->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	err = -bind_source(e, f, fd);
	if (err)
		goto fail;
	rc = connect(fd, (const struct sockaddr *)&c->dst, c->dst_len);
	if (rc < 0 && errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = f;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = errno;
		goto fail;
	}
	f->fd = fd;
	f->state = rc ? FS_CONNECTING : FS_SENDING;
	tcp_step(e, f, 0);
	return;
fail:
	if (fd >= 0)
		close(fd);
	finish(e, f, classify(err), err);
}

static void udp_start(struct engine *e, struct flow *f)
{
	ssize_t n;

	f->slot = -1;
	f->seq++;
	f->dgram_len =
		(size_t)snprintf(f->dgram, sizeof(f->dgram), "rpdlg %u %" PRIu64, f->id, f->seq);
	f->state = FS_UDPWAIT;
	do {
		n = send(f->fd, f->dgram, f->dgram_len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		finish(e, f, classify(errno), errno);
}

static void udp_recv(struct engine *e, struct flow *f)
{
	char buf[UDP_RX_CAP];
	int errors = 0;
	size_t plen;
	ssize_t n;

	for (;;) {
		n = recv(f->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Pending socket errors (ICMP) are reported once each. */
			if (f->state == FS_UDPWAIT)
				finish(e, f, classify(errno), errno);
			if (++errors > 16)
				return;
			continue;
		}
		if (f->state != FS_UDPWAIT || (size_t)n < f->dgram_len)
			continue;
		plen = (size_t)n - f->dgram_len;
		if (memcmp(buf + plen, f->dgram, f->dgram_len) || (plen && buf[plen - 1] != ' '))
			continue; /* stale reply to an earlier, timed out request */
		f->slot = parse_slot(buf, plen);
		finish(e, f, f->slot >= 0 ? OUT_OK : OUT_BADREPLY, 0);
	}
}

static void flow_start(struct engine *e, struct flow *f)
{
	uint64_t now = mono_ns();

	node_del(&f->q);
	f->start_ns = now;
	deadline_add(e, f, now);
	e->inflight++;
	if (e->cfg->proto == PROTO_TCP)
		tcp_start(e, f);
	else
		udp_start(e, f);
}

static struct flow *pick_idle(struct engine *e)
{
	if (!node_empty(&e->idle_conn))
		return node_entry(e->idle_conn.next, struct flow, q);
	if (!node_empty(&e->idle))
		return node_entry(e->idle.next, struct flow, q);
	return NULL;
}

static void expire(struct engine *e, uint64_t now)
{
	struct flow *f;

	while (!node_empty(&e->deadlines)) {
		f = node_entry(e->deadlines.next, struct flow, dl);
		if (f->deadline_ns > now)
			return;
		if (f->state == FS_DRAINING) {
			flow_close(e, f);
			continue;
		}
		if (e->cfg->proto == PROTO_TCP) {
			/* The connection is in an unknown state: never reuse it. */
			f->reusable = false;
			f->peer_closed = true;
		}
		finish(e, f, OUT_TIMEOUT, 0);
	}
}

/* Start time of open-loop start number @i, relative to t0, in ns. */
static double sched_offset(const struct engine *e, uint64_t i)
{
	return (double)i * (double)NSEC_PER_SEC / e->cfg->rate;
}

static void start_due(struct engine *e, uint64_t now)
{
	const struct config *c = e->cfg;
	double off, span = (double)(e->end_ns - e->t0);
	unsigned int budget = e->limit;
	struct flow *f;

	e->more = false;
	for (;;) {
		if (c->count && e->scheduled >= c->count) {
			e->stopping = true;
			return;
		}
		if (c->rate > 0) {
			off = sched_offset(e, e->scheduled);
			if (off >= span) {
				e->stopping = true;
				return;
			}
			if (e->t0 + (uint64_t)off > now)
				return;
			e->scheduled++;
			f = e->inflight < e->limit ? pick_idle(e) : NULL;
			if (!f) {
				e->st->skipped++;
				continue;
			}
		} else {
			if (e->inflight >= e->limit)
				return;
			if (mono_ns() >= e->end_ns) {
				e->stopping = true;
				return;
			}
			f = pick_idle(e);
			if (!f)
				return;
			if (!budget--) {
				/* Let completions and deadlines run between batches of starts. */
				e->more = true;
				return;
			}
			e->scheduled++;
		}
		flow_start(e, f);
	}
}

static int arm_timer(struct engine *e)
{
	struct itimerspec its = { 0 };
	uint64_t wake = UINT64_MAX, t;
	struct flow *f;

	if (!node_empty(&e->deadlines)) {
		f = node_entry(e->deadlines.next, struct flow, dl);
		wake = f->deadline_ns;
	}
	if (!e->stopping) {
		if (e->end_ns < wake)
			wake = e->end_ns;
		if (e->cfg->rate > 0) {
			t = e->t0 + (uint64_t)sched_offset(e, e->scheduled);
			if (t < wake)
				wake = t;
		}
	}
	if (!e->cfg->quiet && e->next_progress < wake)
		wake = e->next_progress;
	if (wake == e->armed)
		return 0;
	if (wake != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(wake / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(wake % NSEC_PER_SEC);
	}
	if (timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	e->armed = wake;
	return 0;
}

static void on_signal(struct engine *e)
{
	struct signalfd_siginfo si;
	sigset_t set;

	if (read(e->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	e->stopping = true;
	e->interrupted = true;
	close(e->sfd);
	e->sfd = -1;
	/* A second signal takes the default action. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (!e->cfg->quiet)
		fprintf(stderr, PROG ": interrupted, waiting for %u in-flight requests\n",
			e->inflight);
}

static void progress(struct engine *e, uint64_t now)
{
	const struct stats *st = e->st;

	fprintf(stderr, PROG ": %.1fs requests %" PRIu64 " ok %" PRIu64,
		(double)(now - e->t0) / NSEC_PER_SEC, stats_requests(st), st->out[OUT_OK]);
	fprintf(stderr, " inflight %u skipped %" PRIu64 "\n", e->inflight, st->skipped);
	while (e->next_progress <= now)
		e->next_progress += NSEC_PER_SEC;
}

static int engine_run(struct engine *e)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now, buf;
	struct flow *f;
	int n, i, rc = 0;

	e->t0 = mono_ns();
	e->end_ns = e->t0 + (uint64_t)(e->cfg->duration * (double)NSEC_PER_SEC);
	e->next_progress = e->t0 + NSEC_PER_SEC;
	for (;;) {
		now = mono_ns();
		expire(e, now);
		if (!e->stopping && now >= e->end_ns)
			e->stopping = true;
		if (!e->stopping)
			start_due(e, now);
		if (!e->cfg->quiet && now >= e->next_progress)
			progress(e, now);
		if (e->stopping && !e->inflight)
			break;
		rc = arm_timer(e);
		if (rc) {
			fprintf(stderr, PROG ": timerfd: %s\n", strerror(-rc));
			goto out;
		}
		n = epoll_wait(e->epfd, evs, MAX_EVENTS, e->more ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			fprintf(stderr, PROG ": epoll_wait: %s\n", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &tag_timer) {
				if (read(e->tfd, &buf, sizeof(buf)) < 0 && errno != EAGAIN)
					rc = -errno;
				continue;
			}
			if (evs[i].data.ptr == &tag_signal) {
				on_signal(e);
				continue;
			}
			f = evs[i].data.ptr;
			if (f->fd < 0)
				continue;
			if (e->cfg->proto == PROTO_TCP)
				tcp_step(e, f, evs[i].events);
			else
				udp_recv(e, f);
		}
	}
out:
	e->t_end = mono_ns();
	return rc;
}

/* Creates, binds and connects the socket of UDP flow @f. */
static int udp_setup(struct engine *e, struct flow *f)
{
	const struct config *c = e->cfg;
	struct epoll_event ev = { 0 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *what;
	int fd, rc;

	fd = socket(c->dst.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		what = "socket";
		goto out;
	}
	what = c->src_port ? "bind to source port" : "bind to source address";
	rc = bind_source(e, f, fd);
	if (rc)
		goto out;
	what = "connect";
	if (connect(fd, (const struct sockaddr *)&c->dst, c->dst_len) < 0) {
		rc = -errno;
		goto out;
	}
	what = "getsockname";
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		rc = -errno;
		goto out;
	}
	f->sport = sa_port(&ss);
	what = "epoll_ctl";
	ev.events = EPOLLIN | EPOLLET;
	ev.data.ptr = f;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		rc = -errno;
		goto out;
	}
	f->fd = fd;
	fd = -1;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, PROG ": udp flow %u (source port %u): %s: %s\n", f->id,
			c->src_port ? c->src_port + f->id : 0, what, strerror(-rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

static void engine_fini(struct engine *e)
{
	unsigned int i;

	for (i = 0; e->flows && i < e->nflows; i++) {
		if (e->flows[i].fd >= 0)
			close(e->flows[i].fd);
		free(e->flows[i].buf);
	}
	free(e->flows);
	e->flows = NULL;
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->tfd >= 0)
		close(e->tfd);
	if (e->sfd >= 0)
		close(e->sfd);
	if (e->flow_map)
		fclose(e->flow_map);
	e->flow_map = NULL;
	free(e->st);
	e->st = NULL;
}

static int engine_init(struct engine *e, const struct config *c)
{
	struct epoll_event ev = { 0 };
	unsigned int i, pool;
	const char *what;
	sigset_t set;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->cfg = c;
	e->epfd = e->tfd = e->sfd = -1;
	e->armed = UINT64_MAX;
	e->timeout_ns = (uint64_t)c->timeout_ms * NSEC_PER_MSEC;
	node_init(&e->idle_conn);
	node_init(&e->idle);
	node_init(&e->deadlines);

	if (c->proto == PROTO_UDP || c->flows_set)
		pool = c->flows;
	else
		pool = c->rate > 0 ? c->max_inflight : c->concurrency;
	e->limit = c->rate > 0 ? c->max_inflight : c->concurrency;
	if (e->limit > pool)
		e->limit = pool;
	e->nflows = pool;

	e->req_len[0] =
		(size_t)snprintf(e->req[0], REQ_CAP, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", c->host);
	e->req_len[1] = (size_t)snprintf(e->req[1], REQ_CAP,
					 "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
					 c->host);

	what = "memory";
	e->st = calloc(1, sizeof(*e->st));
	e->flows = calloc(pool, sizeof(*e->flows));
	if (!e->st || !e->flows) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < pool; i++) {
		struct flow *f = &e->flows[i];

		f->fd = -1;
		f->id = i;
		f->last_slot = -1;
		f->slot = -1;
		f->sport = c->src_port ? c->src_port + i : 0;
		node_init(&f->dl);
		node_init(&f->q);
		node_add_tail(&e->idle, &f->q);
	}

	what = "epoll";
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		rc = -errno;
		goto out;
	}
	what = "timerfd";
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->tfd < 0) {
		rc = -errno;
		goto out;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &tag_timer;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->tfd, &ev) < 0) {
		rc = -errno;
		goto out;
	}
	what = "signalfd";
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		rc = -errno;
		goto out;
	}
	e->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (e->sfd < 0) {
		rc = -errno;
		goto out;
	}
	ev.data.ptr = &tag_signal;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->sfd, &ev) < 0) {
		rc = -errno;
		goto out;
	}
	if (c->flow_map) {
		what = c->flow_map;
		e->flow_map = fopen(c->flow_map, "w");
		if (!e->flow_map) {
			rc = -errno;
			goto out;
		}
	}
	if (c->proto == PROTO_UDP) {
		for (i = 0; i < pool; i++) {
			rc = udp_setup(e, &e->flows[i]);
			if (rc) {
				what = NULL; /* udp_setup() reported it */
				goto out;
			}
		}
	}
out:
	if (rc && what)
		fprintf(stderr, PROG ": %s: %s\n", what, strerror(-rc));
	return rc;
}

static int write_flow_map(struct engine *e)
{
	unsigned int i;
	int rc = 0;

	if (!e->flow_map)
		return 0;
	for (i = 0; i < e->nflows; i++)
		fprintf(e->flow_map, "%u %d\n", e->flows[i].sport, e->flows[i].last_slot);
	if (fflush(e->flow_map) || ferror(e->flow_map))
		rc = errno ? -errno : -EIO;
	if (fclose(e->flow_map) && !rc)
		rc = -errno;
	e->flow_map = NULL;
	if (rc)
		fprintf(stderr, PROG ": %s: %s\n", e->cfg->flow_map, strerror(-rc));
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Report                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static void report_text(const struct engine *e, double elapsed, double rate)
{
	const struct stats *st = e->st;
	char buf[32];
	int i;

	printf("requests %" PRIu64, stats_requests(st));
	for (i = 0; i < OUT_N; i++)
		printf(" %s %" PRIu64, outcome_names[i], st->out[i]);
	printf(" skipped %" PRIu64 "\n", st->skipped);
	printf("elapsed_s %.3f rate_per_s %.1f\n", elapsed, rate);
	printf("latency_us p50 %" PRIu64 " p99 %" PRIu64 " p999 %" PRIu64 " max %" PRIu64 "\n",
	       hist_percentile(st, 5000), hist_percentile(st, 9900), hist_percentile(st, 9990),
	       st->lat_max);
	for (i = 0; i <= SLOT_MAX; i++)
		if (st->slots[i])
			printf("slot %d %" PRIu64 "\n", i, st->slots[i]);
	for (i = 0; i < ERRNO_SLOTS; i++)
		if (st->errnos[i])
			printf("errno %s %" PRIu64 "\n", errno_name(i, buf, sizeof(buf)),
			       st->errnos[i]);
}

static void report_json(const struct engine *e, double elapsed, double rate)
{
	const struct stats *st = e->st;
	const char *sep = "";
	char buf[32];
	int i;

	printf("{\"requests\":%" PRIu64, stats_requests(st));
	for (i = 0; i < OUT_N; i++)
		printf(",\"%s\":%" PRIu64, outcome_names[i], st->out[i]);
	printf(",\"skipped\":%" PRIu64 ",\"elapsed_s\":%.3f,\"rate_per_s\":%.1f", st->skipped,
	       elapsed, rate);
	printf(",\"latency_us\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64
	       ",\"max\":%" PRIu64 "}",
	       hist_percentile(st, 5000), hist_percentile(st, 9900), hist_percentile(st, 9990),
	       st->lat_max);
	printf(",\"slots\":{");
	for (i = 0; i <= SLOT_MAX; i++) {
		if (!st->slots[i])
			continue;
		printf("%s\"%d\":%" PRIu64, sep, i, st->slots[i]);
		sep = ",";
	}
	printf("},\"errors\":{");
	sep = "";
	for (i = 0; i < ERRNO_SLOTS; i++) {
		if (!st->errnos[i])
			continue;
		printf("%s\"%s\":%" PRIu64, sep, errno_name(i, buf, sizeof(buf)), st->errnos[i]);
		sep = ",";
	}
	printf("}}\n");
}

static void raise_nofile(bool quiet)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && !quiet)
		fprintf(stderr, PROG ": RLIMIT_NOFILE: %s (continuing)\n", strerror(errno));
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct engine e;
	double elapsed, rate;
	uint64_t requests;
	int rc, status;

	if (parse_args(argc, argv, &cfg))
		return EXIT_USAGE;
	if (cfg.help) {
		fputs(usage_text, stdout);
		return EXIT_ALL_OK;
	}
	raise_nofile(cfg.quiet);
	signal(SIGPIPE, SIG_IGN);

	if (engine_init(&e, &cfg)) {
		engine_fini(&e);
		return EXIT_START;
	}
	rc = engine_run(&e);
	elapsed = (double)(e.t_end - e.t0) / NSEC_PER_SEC;
	requests = stats_requests(e.st);
	rate = elapsed > 0 ? (double)requests / elapsed : 0;
	if (cfg.json)
		report_json(&e, elapsed, rate);
	else
		report_text(&e, elapsed, rate);
	fflush(stdout);

	status = EXIT_ALL_OK;
	if (rc || requests != e.st->out[OUT_OK] || e.st->skipped)
		status = EXIT_NOT_OK;
	if (write_flow_map(&e))
		status = EXIT_NOT_OK;
	engine_fini(&e);
	return status;
}
