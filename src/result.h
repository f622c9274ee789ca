/* SPDX-License-Identifier: MIT */
/*
 * result.h: turns the kernel's description of a cell's last expression
 * (RESULT, see docs/ARCHITECTURE.md "The kernel protocol") and its rich
 * outputs, as kernel.c validated them, into the wire values: Gen1
 * properties.result, Gen2 result.executionResult and the outputs array
 * both generations carry.  The checks on the kernel's bytes are done by
 * kernel_value_decode() and kernel_outputs_decode(); what is left here is
 * the mapping of DESIGN.md §2 "Wire decisions".  Pure functions; they
 * never block and never fail.
 */
#ifndef SANDPOOL_RESULT_H
#define SANDPOOL_RESULT_H

#include <jansson.h>
#include <stddef.h>

#include "kernel.h"

/*
 * Gen1 properties.result.  v is the decoded RESULT, or NULL (read as
 * KV_BAD: a shell command or no reply); outs[0..n) the decoded outputs.
 * An int becomes a JSON integer when it fits in int64 and its text
 * otherwise; a finite float a JSON real; NaN and infinities their text
 * ("nan"); a str itself; none and empty ""; repr and artist their text.
 * When outs holds an image and the kind is none, empty or artist, the
 * answer is {"type":"image","format":"png","base64_data":...} for the last
 * image.  KV_BAD gives "".  Arguments are borrowed and not aliased by the
 * answer; returns a new reference, never NULL.
 */
json_t *result_gen1(const struct kernel_value *v,
		    const struct kernel_output *outs, size_t n);

/*
 * Gen2 result.executionResult: always a JSON string (SK .NET reads it as
 * one), or JSON null for None.  none gives null; empty ""; int and float
 * their text ("42", "4.0", "nan"); str itself; repr and artist their text.
 * NULL or KV_BAD gives "".  outs is accepted for symmetry with
 * result_gen1 and does not change the answer.  Arguments are borrowed;
 * returns a new reference, never NULL.
 */
json_t *result_gen2(const struct kernel_value *v,
		    const struct kernel_output *outs, size_t n);

/*
 * The wire outputs array, in order: a KOUT_PNG becomes
 * {"type":"image","format":"png","base64_data":B64}, a KOUT_HTML
 * {"type":"html","data":S}.  outs may be NULL when n is 0 (gives []).
 * Borrowed argument, not aliased; returns a new array, never NULL.
 */
json_t *result_outputs(const struct kernel_output *outs, size_t n);

#endif
