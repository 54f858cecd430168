/* The registry's long-lived state. */
#include "registry/registry.h"

#include "app.h"
#include "core/xalloc.h"
#include "registry/blobstore.h"
#include "registry/uploads.h"

int registry_open(const struct wharf_config *cfg, struct registry **ret_reg, struct wh_err *err)
{
    struct registry *reg = xcalloc(1, sizeof(*reg));
    int r = blobstore_open(cfg->data_dir, &reg->bs, err);
    if (r == 0)
        r = registry_token_key_load(cfg->data_dir, reg->token_key, err);
    if (r < 0) {
        registry_close(reg);
        return -1;
    }
    reg->uploads = upload_table_new();
    *ret_reg = reg;
    return 0;
}

void registry_close(struct registry *reg)
{
    if (!reg)
        return;
    upload_table_free(reg->uploads);
    blobstore_close(reg->bs);
    free(reg);
}

const uint8_t *registry_token_key(const struct registry *reg)
{
    return reg->token_key;
}
