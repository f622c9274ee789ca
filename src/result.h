/* SPDX-License-Identifier: MIT */
/*
 * result.h: turns the kernel's description of a cell's last expression
 * (RESULT, see docs/ARCHITECTURE.md "The kernel protocol") and its rich
 * outputs into the wire values: Gen1 properties.result, Gen2
 * result.executionResult and the outputs array both generations carry.
 * The kernel is as untrusted as user code: every function here accepts any
 * JSON value (or NULL) and answers "" for anything it does not recognise.
 * Pure functions; they never block and never fail.
 */
#ifndef SANDPOOL_RESULT_H
#define SANDPOOL_RESULT_H

#include <jansson.h>

/*
 * Gen1 properties.result.  result is the kernel's RESULT object, or NULL
 * (or JSON null) for a shell command or a failed run; outputs is the
 * kernel's outputs array or NULL.  An int becomes a JSON integer when it
 * fits in int64 and its text otherwise; a finite float a JSON real; NaN and
 * infinities their text ("nan"); a str itself; none and empty ""; repr and
 * artist their text.  When outputs holds a valid image and the kind is
 * none, empty or artist, the answer is {"type":"image","format":"png",
 * "base64_data":...} for the last image.  A malformed RESULT gives "".
 * Both arguments are borrowed; returns a new reference, never NULL.
 */
json_t *result_gen1(const json_t *result, const json_t *outputs);

/*
 * Gen2 result.executionResult: always a JSON string (SK .NET reads it as
 * one), or JSON null for None.  none gives null; empty ""; int and float
 * their text ("42", "4.0", "nan"); str itself; repr and artist their text.
 * A NULL or malformed RESULT gives "".  outputs is accepted for symmetry
 * with result_gen1 and does not change the answer.  Both arguments are
 * borrowed; returns a new reference, never NULL.
 */
json_t *result_gen2(const json_t *result, const json_t *outputs);

/*
 * The wire outputs array from the kernel's: an image
 * {"type":"image","format":"png","data":B64} becomes
 * {"type":"image","format":"png","base64_data":B64}, html
 * {"type":"html","data":S} stays {"type":"html","data":S}, in order.
 * Items of another type, with missing or wrong-typed fields, or with data
 * that is not base64 (images) are skipped.  outputs may be NULL or not an
 * array (gives []).  Borrowed argument; returns a new array, never NULL.
 */
json_t *result_outputs(const json_t *outputs);

#endif
