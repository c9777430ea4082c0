/* skyfence.h - what skyfence's programs share with each other and with
 * the system around them: the version, the control socket skyfenced
 * listens on and skyfencectl and skyfence-endpoints talk to, and
 * skyfenced's state directory (dist/skyfenced.service.in's
 * RuntimeDirectory= and StateDirectory= name the same). One place for
 * each, so the programs cannot disagree. */
#ifndef SKYFENCE_H
#define SKYFENCE_H

/* CMake defines it from project()'s version; a file built otherwise
 * (a fuzz target's corpus tool, say) says it does not know */
#ifndef SKYFENCE_VERSION
#define SKYFENCE_VERSION "?"
#endif

#define SKYFENCE_CTL_PATH "/run/skyfence/ctl.sock"
#define SKYFENCE_STATE_DIR "/var/lib/skyfence"

#endif
