/* ctl_output.h — sipha-ctl status as text (a compact block per instance) and as one
 * JSON object {"nodes": [...], "primary": NAME|null}. */
#ifndef SIPHA_CTL_OUTPUT_H
#define SIPHA_CTL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "ctl_model.h"

void ctl_print_text(FILE *f, const struct ctl_node *nodes, size_t n);
void ctl_print_json(FILE *f, const struct ctl_node *nodes, size_t n);

/* The one primary among every instance read, or NULL when there is none or more
 * than one (*count says how many). */
const struct ctl_inst *ctl_single_primary(const struct ctl_node *nodes, size_t n, size_t *count);

#endif
