// SPDX-License-Identifier: MIT
/*
 * ctl_render.c - reuseportctl's command line, request line and human output (ctl_render.h).
 *
 * Owns: what a valid invocation is, the one-line message for each mistake, the request text,
 * and turning a parsed response into aligned text. Pure: writes only to the FILE it is given.
 * Leaves the socket, the timeout and exit codes to reuseportctl.c, the JSON grammar to
 * json_read.c, the duration syntax to options.c, and the meaning of slots and policies to the
 * daemon.
 */
#include "ctl_render.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "errmsg.h"

/* Longest text of one table cell or header field, NUL included. */
#define CELL 128
/* Longest echo of a user's argument in a message, NUL included. */
#define ECHO 80
/* Longest policy name. */
#define NAME_MAX_LEN 64

#define COMMANDS                                                                                   \
	"status, stats, drain SLOT, undrain SLOT, weight SLOT W, policy NAME, restart SLOT|all, "  \
	"scale N"

const char rpd_cli_usage[] =
	"usage: reuseportctl [--control PATH] [--json] [--timeout DUR] COMMAND [ARGS]\n"
	"\n"
	"Asks a running reuseportd through its control socket and prints the answer.\n"
	"\n"
	"Commands:\n"
	"  status              daemon, listeners, policy and per-slot state\n"
	"  stats               steering counters per listener and slot, and drops\n"
	"  drain SLOT          the slot gets no new connections or flows\n"
	"  undrain SLOT        the slot gets new connections and flows again\n"
	"  weight SLOT W       W from 0 to 1000; shares follow weights, 0 acts as drain\n"
	"  policy NAME         switch the steering policy (hash)\n"
	"  restart SLOT|all    replace the slot's worker (all: every slot, one at a time)\n"
	"                      without losing a connection; answers when done\n"
	"  scale N             grow or shrink to N workers; answers when done\n"
	"\n"
	"Options:\n"
	"  --control PATH      control socket (default $" RPD_CLI_ENV_CONTROL ", else\n"
	"                      " RPD_DEFAULT_CONTROL ")\n"
	"  --json              print the daemon's response line as received\n"
	"  --timeout DUR       limit for connecting, sending and receiving (default 5s;\n"
	"                      10m for restart and scale)\n"
	"  -h, --help          show this help\n"
	"  -V, --version       show the version\n"
	"\n"
	"Durations: 500ms, 2s, 1.5 (seconds), 1m.\n"
	"Exit status: 0 done, 1 the daemon refused the request, 2 wrong command line,\n"
	"3 the daemon could not be reached or gave no valid answer.\n";

/* One line naming the mistake, into the caller's buffer. */
#define fail(err, errlen, ...) rpd_errorf(err, errlen, -EINVAL, __VA_ARGS__)

/*
 * Copy s into buf for a terminal: C0 and C1 control characters and DEL become '?', and a cut
 * never splits a UTF-8 sequence. s is UTF-8 from json_read.c or a user's argument. Returns
 * true when s had to be cut.
 */
static bool clean(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = 0, k;

	if (!len)
		return *p;
	while (*p) {
		bool control = (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) || /* C1, as CSI */
			       *p < 0x20 || *p == 0x7f;

		k = 1;
		if (control && p[0] == 0xc2)
			k = 2;
		while (!control && k < 4 && p[k] >= 0x80 && p[k] <= 0xbf)
			k++;
		if (n + (control ? 1 : k) >= len)
			break;
		if (control) {
			buf[n++] = '?';
		} else {
			memcpy(buf + n, p, k);
			n += k;
		}
		p += k;
	}
	buf[n] = '\0';
	return *p;
}

/* A user's argument for a message: cleaned and cut to a readable length. */
static const char *echo(char buf[ECHO], const char *s)
{
	if (clean(buf, ECHO - 3, s))
		strcat(buf, "...");
	return buf;
}

/* Characters a terminal shows for s (UTF-8): bytes that do not continue a sequence. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* Decimal digits only, at most max; no sign, no spaces. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		if (v > (max - (*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static bool is_word(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	}
	return n > 0 && n < NAME_MAX_LEN;
}

static const struct {
	const char *name;
	enum rpd_cli_cmd cmd;
	int nargs;
	const char *args[2];
	const char *synopsis;
} commands[] = {
	{ "status", RPD_CLI_STATUS, 0, { NULL }, "status" },
	{ "stats", RPD_CLI_STATS, 0, { NULL }, "stats" },
	{ "drain", RPD_CLI_DRAIN, 1, { "SLOT" }, "drain SLOT" },
	{ "undrain", RPD_CLI_UNDRAIN, 1, { "SLOT" }, "undrain SLOT" },
	{ "weight", RPD_CLI_WEIGHT, 2, { "SLOT", "W" }, "weight SLOT W" },
	{ "policy", RPD_CLI_POLICY, 1, { "NAME" }, "policy NAME" },
	{ "restart", RPD_CLI_RESTART, 1, { "SLOT|all" }, "restart SLOT|all" },
	{ "scale", RPD_CLI_SCALE, 1, { "N" }, "scale N" },
};

int rpd_cli_build_request(int argc, char **argv, char *line, size_t len, char *err, size_t errlen)
{
	unsigned long slot = 0, w = 0;
	char e[ECHO];
	size_t c;
	int n;

	if (argc < 1 || !argv[0])
		return fail(err, errlen, "missing COMMAND; commands: " COMMANDS);
	for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (!strcmp(argv[0], commands[c].name))
			break;
	}
	if (c == sizeof(commands) / sizeof(commands[0]))
		return fail(err, errlen, "unknown command '%s'; commands: " COMMANDS,
			    echo(e, argv[0]));
	if (argc - 1 < commands[c].nargs)
		return fail(err, errlen, "%s: missing %s; usage: reuseportctl %s", commands[c].name,
			    commands[c].args[argc - 1], commands[c].synopsis);
	if (argc - 1 > commands[c].nargs)
		return fail(err, errlen, "%s: unexpected argument '%s'; usage: reuseportctl %s",
			    commands[c].name, echo(e, argv[commands[c].nargs + 1]),
			    commands[c].synopsis);

	switch (commands[c].cmd) {
	case RPD_CLI_STATUS:
	case RPD_CLI_STATS:
		n = snprintf(line, len, "%s\n", commands[c].name);
		break;
	case RPD_CLI_DRAIN:
	case RPD_CLI_UNDRAIN:
	case RPD_CLI_WEIGHT:
		if (parse_uint(argv[1], INT_MAX, &slot))
			return fail(err, errlen,
				    "%s: SLOT must be a non-negative integer, got '%s'",
				    commands[c].name, echo(e, argv[1]));
		if (commands[c].cmd != RPD_CLI_WEIGHT) {
			n = snprintf(line, len, "%s %lu\n", commands[c].name, slot);
			break;
		}
		if (parse_uint(argv[2], 1000, &w))
			return fail(err, errlen,
				    "weight: W must be an integer from 0 to 1000, got '%s'",
				    echo(e, argv[2]));
		n = snprintf(line, len, "weight %lu %lu\n", slot, w);
		break;
	case RPD_CLI_RESTART:
		if (!strcmp(argv[1], "all")) {
			n = snprintf(line, len, "restart all\n");
			break;
		}
		if (parse_uint(argv[1], INT_MAX, &slot))
			return fail(
				err, errlen,
				"restart: SLOT must be a non-negative integer or 'all', got '%s'",
				echo(e, argv[1]));
		n = snprintf(line, len, "restart %lu\n", slot);
		break;
	case RPD_CLI_SCALE:
		if (parse_uint(argv[1], 256, &w) || w < 1)
			return fail(err, errlen,
				    "scale: N must be a number of workers from 1 to 256, got '%s'",
				    echo(e, argv[1]));
		n = snprintf(line, len, "scale %lu\n", w);
		break;
	case RPD_CLI_POLICY:
		if (!is_word(argv[1]))
			return fail(err, errlen,
				    "policy: NAME must be a word of letters, digits, '-' or '_', "
				    "got '%s'",
				    echo(e, argv[1]));
		n = snprintf(line, len, "policy %s\n", argv[1]);
		break;
	default:
		n = -1;
		break;
	}
	if (n < 0 || (size_t)n >= len) {
		fail(err, errlen, "%s: request does not fit in %zu bytes", commands[c].name, len);
		return -ENOSPC;
	}
	return commands[c].cmd;
}

int rpd_cli_parse_timeout(const char *s, int *ms)
{
	int v;

	if (rpd_parse_duration_ms(s, &v) || v <= 0)
		return -EINVAL;
	*ms = v;
	return 0;
}

static int check_control(const char *path, const char *from, char *err, size_t errlen)
{
	char e[ECHO];

	if (!*path || strlen(path) >= RPD_CLI_PATH_MAX)
		return fail(err, errlen,
			    "%s: expected a socket path shorter than %d bytes, got '%s'", from,
			    RPD_CLI_PATH_MAX, echo(e, path));
	return 0;
}

int rpd_cli_parse_args(struct rpd_cli_args *a, int argc, char **argv, const char *env_control,
		       char *err, size_t errlen)
{
	char *words[4]; /* COMMAND and up to three more: enough to name an extra one */
	bool options_done = false, timeout_given = false;
	int nwords = 0, ret;
	char e[ECHO];

	memset(a, 0, sizeof(*a));
	a->timeout_ms = RPD_CLI_DEFAULT_TIMEOUT_MS;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val;
		size_t nlen;

		if (options_done || arg[0] != '-' || !arg[1]) {
			if (nwords < (int)(sizeof(words) / sizeof(words[0])))
				words[nwords++] = argv[i];
			continue;
		}
		if (!strcmp(arg, "--")) {
			options_done = true;
			continue;
		}
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			a->help = true;
			return 0;
		}
		if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
			a->version = true;
			return 0;
		}
		eq = strchr(arg, '=');
		nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		if (nlen == 6 && !strncmp(arg, "--json", 6)) {
			if (eq)
				return fail(err, errlen, "option --json takes no value");
			a->json = true;
			continue;
		}
		if (nlen == 9 && (!strncmp(arg, "--control", 9) || !strncmp(arg, "--timeout", 9))) {
			const char *name = arg[2] == 'c' ? "--control" : "--timeout";

			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return fail(err, errlen,
					    "option %s needs a value; see reuseportctl --help",
					    name);
			if (arg[2] == 'c') {
				ret = check_control(val, name, err, errlen);
				if (ret)
					return ret;
				a->control = val;
				a->control_from = name;
			} else if ((timeout_given = true,
				    rpd_cli_parse_timeout(val, &a->timeout_ms))) {
				return fail(
					err, errlen,
					"--timeout: expected a duration above 0 such as 500ms or "
					"2s, got '%s'",
					echo(e, val));
			}
			continue;
		}
		/* After COMMAND, "-1" and the like are its arguments, checked there. */
		if (nwords) {
			if (nwords < (int)(sizeof(words) / sizeof(words[0])))
				words[nwords++] = argv[i];
			continue;
		}
		return fail(err, errlen, "unknown option '%s'; see reuseportctl --help",
			    echo(e, arg));
	}

	if (!a->control && env_control && *env_control) {
		ret = check_control(env_control, RPD_CLI_ENV_CONTROL, err, errlen);
		if (ret)
			return ret;
		a->control = env_control;
		a->control_from = RPD_CLI_ENV_CONTROL;
	}
	if (!a->control) {
		a->control = RPD_DEFAULT_CONTROL;
		a->control_from = "default";
	}
	if (!nwords)
		return fail(err, errlen, "missing COMMAND; commands: " COMMANDS);
	ret = rpd_cli_build_request(nwords, words, a->request, sizeof(a->request), err, errlen);
	if (ret < 0)
		return ret;
	a->cmd = ret;
	if (!timeout_given && (a->cmd == RPD_CLI_RESTART || a->cmd == RPD_CLI_SCALE))
		a->timeout_ms = RPD_CLI_CHANGE_TIMEOUT_MS;
	return 0;
}

int rpd_cli_check_response(const struct rpd_jv *resp, char *err, size_t errlen)
{
	const struct rpd_jv *ok = rpd_jv_get(resp, "ok");
	const char *msg;

	if (rpd_jv_type(resp) != RPD_JV_OBJECT) {
		snprintf(err, errlen, "response is not a JSON object");
		return -EPROTO;
	}
	if (rpd_jv_type(ok) != RPD_JV_BOOL) {
		snprintf(err, errlen, "response has no boolean \"ok\"");
		return -EPROTO;
	}
	if (ok->boolean)
		return 0;
	msg = rpd_jv_string(rpd_jv_get(resp, "error"), NULL);
	if (msg && *msg)
		clean(err, errlen, msg);
	else
		snprintf(err, errlen, "the daemon refused the request without saying why");
	return -EREMOTEIO;
}

/* ---- formatting of single values ---- */

static void fmt_number(double d, char *buf, size_t len)
{
	if (d == floor(d) && fabs(d) < 1e18)
		snprintf(buf, len, "%.0f", d);
	else
		snprintf(buf, len, "%.15g", d);
}

/* Any value as text: '-' when missing or null, yes/no for booleans, arrays joined by ','. */
static void fmt_value(const struct rpd_jv *v, char *buf, size_t len)
{
	size_t n;

	switch (rpd_jv_type(v)) {
	case RPD_JV_BOOL:
		snprintf(buf, len, "%s", v->boolean ? "yes" : "no");
		return;
	case RPD_JV_NUMBER:
		fmt_number(v->number, buf, len);
		return;
	case RPD_JV_STRING:
		if (v->str[0]) {
			clean(buf, len, v->str);
			return;
		}
		break;
	case RPD_JV_ARRAY:
		if (!v->len)
			break;
		buf[0] = '\0';
		for (size_t i = 0; i < v->len; i++) {
			char item[CELL];

			n = strlen(buf);
			if (rpd_jv_type(v->items[i]) == RPD_JV_ARRAY)
				snprintf(item, sizeof(item), "-"); /* one level is enough */
			else
				fmt_value(v->items[i], item, sizeof(item));
			if (n + strlen(item) + 2 > len)
				break;
			snprintf(buf + n, len - n, "%s%s", i ? "," : "", item);
		}
		return;
	default:
		break;
	}
	snprintf(buf, len, "-");
}

/* A fraction from 0 to 1 as a percentage with one decimal. */
static void fmt_share(const struct rpd_jv *v, char *buf, size_t len)
{
	if (rpd_jv_type(v) == RPD_JV_NUMBER)
		snprintf(buf, len, "%.1f%%", v->number * 100.0);
	else
		snprintf(buf, len, "-");
}

/* Seconds as 12.5s, 5m03s, 2h05m or 3d04h. */
static void fmt_uptime(const struct rpd_jv *v, char *buf, size_t len)
{
	double s = rpd_jv_number(v, -1.0);

	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, len, "%.0fm%02.0fs", floor(s / 60), floor(fmod(s, 60)));
	else if (s < 86400)
		snprintf(buf, len, "%.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
	else
		snprintf(buf, len, "%.0fd%02.0fh", floor(s / 86400), floor(fmod(s, 86400) / 3600));
}

static const char *field(const struct rpd_jv *obj, const char *key, char buf[CELL])
{
	fmt_value(rpd_jv_get(obj, key), buf, CELL);
	return buf;
}

/* ---- tables: one row per member of an array, columns aligned ---- */

struct column {
	const char *head;
	const char *key; /* member of the row */
	bool right; /* right-aligned (numbers) */
	void (*fmt)(const struct rpd_jv *v, char *buf, size_t len);
};

static void cell(const struct column *col, const struct rpd_jv *row, char buf[CELL])
{
	col->fmt(rpd_jv_get(row, col->key), buf, CELL);
}

static void print_cell(FILE *out, const struct column *col, const char *text, size_t w, bool last)
{
	size_t pad = w - width(text);

	if (col->right)
		fprintf(out, "%*s%s", (int)pad, "", text);
	else
		fprintf(out, "%s%*s", text, last ? 0 : (int)pad, "");
	fputs(last ? "\n" : "  ", out);
}

/* Two passes over rows (an array; anything else has no rows): measure, then print. */
static void print_table(FILE *out, const struct column *cols, size_t ncols,
			const struct rpd_jv *rows)
{
	size_t w[16] = { 0 }, nrows = rpd_jv_len(rows);
	char buf[CELL];

	if (rpd_jv_type(rows) != RPD_JV_ARRAY)
		nrows = 0;
	if (ncols > sizeof(w) / sizeof(w[0]))
		ncols = sizeof(w) / sizeof(w[0]);
	for (size_t c = 0; c < ncols; c++) {
		w[c] = width(cols[c].head);
		for (size_t r = 0; r < nrows; r++) {
			size_t cw;

			cell(&cols[c], rpd_jv_at(rows, r), buf);
			cw = width(buf);
			if (cw > w[c])
				w[c] = cw;
		}
	}
	for (size_t c = 0; c < ncols; c++)
		print_cell(out, &cols[c], cols[c].head, w[c], c + 1 == ncols);
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			cell(&cols[c], rpd_jv_at(rows, r), buf);
			print_cell(out, &cols[c], buf, w[c], c + 1 == ncols);
		}
	}
}

static int done(FILE *out)
{
	return ferror(out) ? -EIO : 0;
}

/* ---- the responses ---- */

/* Below the table: replacements starting, workers still draining, the change in progress. */
static void print_changes(FILE *out, const struct rpd_jv *resp)
{
	const struct rpd_jv *workers = rpd_jv_get(resp, "workers");
	const struct rpd_jv *retired = rpd_jv_get(resp, "retired");
	const struct rpd_jv *op = rpd_jv_get(resp, "operation");
	char a[CELL], b[CELL], c[CELL], d[CELL], e[CELL];
	size_t n;

	n = rpd_jv_type(workers) == RPD_JV_ARRAY ? rpd_jv_len(workers) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct rpd_jv *w = rpd_jv_at(workers, i);
		const struct rpd_jv *r = rpd_jv_get(w, "replacement");

		if (rpd_jv_type(r) != RPD_JV_OBJECT)
			continue;
		fprintf(out, "replacing slot %s: pid %s gen %s %s\n", field(w, "slot", a),
			field(r, "pid", b), field(r, "generation", c),
			rpd_jv_bool(rpd_jv_get(r, "ready"), false) ? "ready" : "starting");
	}
	n = rpd_jv_type(retired) == RPD_JV_ARRAY ? rpd_jv_len(retired) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct rpd_jv *r = rpd_jv_at(retired, i);

		fprintf(out,
			"draining: slot %s pid %s gen %s (retired, finishing its connections)\n",
			field(r, "slot", a), field(r, "pid", b), field(r, "generation", c));
	}
	if (rpd_jv_type(op) != RPD_JV_OBJECT)
		return;
	if (rpd_jv_get(op, "total"))
		fprintf(out, "operation: %s, %s of %s slots done, asked by %s\n",
			field(op, "kind", a), field(op, "done", b), field(op, "total", c),
			field(op, "asked_by", d));
	else
		fprintf(out, "operation: %s %s -> %s workers (%s), asked by %s\n",
			field(op, "kind", a), field(op, "from", b), field(op, "to", c),
			field(op, "phase", d), field(op, "asked_by", e));
}

int rpd_cli_render_status(const struct rpd_jv *resp, FILE *out)
{
	static const struct column cols[] = {
		{ "SLOT", "slot", true, fmt_value },
		{ "PID", "pid", true, fmt_value },
		{ "STATE", "state", false, fmt_value },
		{ "WEIGHT", "weight", true, fmt_value },
		{ "GEN", "generation", true, fmt_value },
		{ "RESTARTS", "restarts", true, fmt_value },
		{ "SHARE", "share", true, fmt_share },
		{ "STEERED", "steered", true, fmt_value },
		{ "EXCLUDED", "excluded", false, fmt_value },
	};
	const struct rpd_jv *features = rpd_jv_get(resp, "features");
	const struct rpd_jv *listeners = rpd_jv_get(resp, "listeners");
	char a[CELL], b[CELL], c[CELL], d[CELL], e[CELL], f[CELL];
	size_t n;

	fmt_uptime(rpd_jv_get(resp, "uptime_s"), c, sizeof(c));
	fprintf(out, "reuseportd %s  pid %s  up %s  protocol %s  policy %s  ",
		field(resp, "version", a), field(resp, "pid", b), c, field(resp, "protocol", d),
		field(resp, "policy", e));
	fprintf(out, "table %s entries (generation %s)\n", field(resp, "table_size", a),
		field(resp, "table_generation", f));

	n = rpd_jv_type(features) == RPD_JV_OBJECT ? features->len : 0;
	if (!n)
		fputs("features -", out);
	for (size_t i = 0; i < n; i++) {
		clean(a, sizeof(a), rpd_jv_key(features, i));
		fmt_value(rpd_jv_at(features, i), b, sizeof(b));
		fprintf(out, "%s%s %s", i ? "  " : "", a[0] ? a : "-", b);
	}
	fputc('\n', out);

	n = rpd_jv_type(listeners) == RPD_JV_ARRAY ? listeners->len : 0;
	fputs(n ? "listeners:" : "listeners: -", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, " %s", field(rpd_jv_at(listeners, i), "name", a));
	fputc('\n', out);

	print_table(out, cols, sizeof(cols) / sizeof(cols[0]), rpd_jv_get(resp, "workers"));
	print_changes(out, resp);
	return done(out);
}

int rpd_cli_render_stats(const struct rpd_jv *resp, FILE *out)
{
	static const struct column cols[] = {
		{ "SLOT", "slot", true, fmt_value },
		{ "SELECTED", "selected", true, fmt_value },
		{ "MIGRATED", "migrated", true, fmt_value },
		{ "PROBED", "probed", true, fmt_value },
		{ "SRC", "src", true, fmt_value },
		{ "SRC_NOADDR", "src_noaddr", true, fmt_value },
		{ "CPU", "cpu", true, fmt_value },
		{ "CPU_FALLBACK", "cpu_fallback", true, fmt_value },
	};
	const struct rpd_jv *listeners = rpd_jv_get(resp, "listeners");
	char a[CELL], b[CELL], c[CELL];
	size_t n;

	n = rpd_jv_type(listeners) == RPD_JV_ARRAY ? listeners->len : 0;
	if (!n)
		fputs("listeners: -\n", out);
	for (size_t i = 0; i < n; i++) {
		const struct rpd_jv *l = rpd_jv_at(listeners, i);
		const struct rpd_jv *drops = rpd_jv_get(l, "drops");

		fprintf(out, "%slistener %s\n", i ? "\n" : "", field(l, "name", a));
		print_table(out, cols, sizeof(cols) / sizeof(cols[0]), rpd_jv_get(l, "slots"));
		fprintf(out, "drops: no_ready %s  select_error %s  no_table %s\n",
			field(drops, "no_ready", a), field(drops, "select_error", b),
			field(drops, "no_table", c));
	}
	return done(out);
}

/* " (unchanged)" or " (table generation N)", and the end of the line. */
static void print_change(FILE *out, const struct rpd_jv *resp)
{
	char gen[CELL];

	if (!rpd_jv_bool(rpd_jv_get(resp, "changed"), true))
		fputs(" (unchanged)\n", out);
	else
		fprintf(out, " (table generation %s)\n", field(resp, "table_generation", gen));
}

int rpd_cli_render_slot(const struct rpd_jv *resp, FILE *out)
{
	const struct rpd_jv *drained = rpd_jv_get(resp, "drained");
	const char *state = "-";
	char a[CELL], b[CELL];

	if (rpd_jv_type(drained) == RPD_JV_BOOL)
		state = drained->boolean ? "drained" : "undrained";
	fprintf(out, "slot %s: %s, weight %s", field(resp, "slot", a), state,
		field(resp, "weight", b));
	print_change(out, resp);
	return done(out);
}

int rpd_cli_render_policy(const struct rpd_jv *resp, FILE *out)
{
	char a[CELL];

	fprintf(out, "policy %s", field(resp, "policy", a));
	print_change(out, resp);
	return done(out);
}

int rpd_cli_render_change(const struct rpd_jv *resp, FILE *out)
{
	const struct rpd_jv *list = rpd_jv_get(resp, "restarted");
	char a[CELL], b[CELL];

	if (rpd_jv_type(list) == RPD_JV_ARRAY) {
		fprintf(out, "restarted:");
		for (size_t i = 0; i < rpd_jv_len(list); i++) {
			const struct rpd_jv *e = rpd_jv_at(list, i);

			fprintf(out, " slot %s (generation %s)%s", field(e, "slot", a),
				field(e, "generation", b), i + 1 < rpd_jv_len(list) ? "," : "");
		}
	} else {
		fprintf(out, "scaled to %s workers", field(resp, "workers", a));
	}
	fprintf(out, " in %s ms\n", field(resp, "elapsed_ms", a));
	return done(out);
}

int rpd_cli_render(enum rpd_cli_cmd cmd, const struct rpd_jv *resp, FILE *out)
{
	switch (cmd) {
	case RPD_CLI_STATUS:
		return rpd_cli_render_status(resp, out);
	case RPD_CLI_STATS:
		return rpd_cli_render_stats(resp, out);
	case RPD_CLI_DRAIN:
	case RPD_CLI_UNDRAIN:
	case RPD_CLI_WEIGHT:
		return rpd_cli_render_slot(resp, out);
	case RPD_CLI_POLICY:
		return rpd_cli_render_policy(resp, out);
	case RPD_CLI_RESTART:
	case RPD_CLI_SCALE:
		return rpd_cli_render_change(resp, out);
	}
	return -EINVAL;
}
