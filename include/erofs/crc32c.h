/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef EROFS_CRC32C_H
#define EROFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32C (Castagnoli), reflected, without the final inversion, so
 * erofs_crc32c(~0, sb, len) is exactly what the superblock stores.
 */
uint32_t erofs_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
