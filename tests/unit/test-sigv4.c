/* SigV4 verifier tests: the published AWS SigV4 test suite (aws-sig-v4-test-suite, as shipped
 * in botocore's tests/unit/auth/aws4_testsuite), the AWS documentation's presigned-URL example,
 * then our own cases for canonicalisation details, presigned round trips, clock skew, parse
 * errors and the signing-key cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "aws/sigv4.h"
#include "core/crypto.h"
#include "core/xalloc.h"

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW ((time_t)1440938160) /* 20150830T123600Z */
#define MISMATCH_MSG                                                                               \
    "The request signature we calculated does not match the signature you provided. Check "      \
    "your AWS Secret Access Key and signing method. Consult the service documentation for "       \
    "details."

#define MAX_HEADERS 8

struct vector {
    const char *name, *method, *path, *query;
    struct sigv4_header headers[MAX_HEADERS]; /* ends at the first {NULL} */
    const char *body;                         /* NULL: empty */
    const char *authz, *creq, *sts, *signature;
};

/* Request, headers and path exactly as in each vector's .sreq (Authorization taken from
 * .authz: get-vanilla-with-session-token's .sreq carries a stale signature). */
static const struct vector vectors[] = {
    {
        .name = "get-header-key-duplicate",
        .method = "GET",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"My-Header1", "value2"},
            {"My-Header1", "value2"},
            {"My-Header1", "value1"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "my-header1:value2,value2,value1\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;my-header1;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
        .signature = "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    },
    {
        .name = "get-header-value-multiline",
        .method = "GET",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"My-Header1", "value1\n"
                    "  value2\n"
                    "     value3"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "my-header1:value1 value2 value3\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;my-header1;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "e99419459a677bc11de234014be3c4e72c1ea5b454ceb58b613061f5d7a162e8",
        .signature = "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd",
    },
    {
        .name = "get-header-value-order",
        .method = "GET",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"My-Header1", "value4"},
            {"My-Header1", "value1"},
            {"My-Header1", "value3"},
            {"My-Header1", "value2"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "my-header1:value4,value1,value3,value2\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;my-header1;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
        .signature = "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
    },
    {
        .name = "get-header-value-trim",
        .method = "GET",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"My-Header1", " value1"},
            {"My-Header2", " \"a   b   c\""},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "my-header1:value1\n"
                "my-header2:\"a b c\"\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;my-header1;my-header2;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
        .signature = "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    },
    {
        .name = "get-unreserved",
        .method = "GET",
        .path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        .creq = "GET\n"
                "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
        .signature = "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    },
    {
        .name = "get-utf8",
        .method = "GET",
        .path = "/\341\210\264",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        .creq = "GET\n"
                "/%E1%88%B4\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
        .signature = "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
    },
    {
        .name = "get-vanilla-empty-query-key",
        .method = "GET",
        .path = "/",
        .query = "Param1=value1",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
        .creq = "GET\n"
                "/\n"
                "Param1=value1\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
        .signature = "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
    },
    {
        .name = "get-vanilla-query-order-encoded",
        .method = "GET",
        .path = "/",
        .query = "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
        .creq = "GET\n"
                "/\n"
                "%E1%88%B4=Value1&Param=Value2&Param-3=Value3\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
        .signature = "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
    },
    {
        .name = "get-vanilla-query-order-key-case",
        .method = "GET",
        .path = "/",
        .query = "Param2=value2&Param1=value1",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        .creq = "GET\n"
                "/\n"
                "Param1=value1&Param2=value2\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
        .signature = "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    },
    {
        .name = "get-vanilla-query-order-key",
        .method = "GET",
        .path = "/",
        .query = "Param1=value2&Param1=Value1",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
        .creq = "GET\n"
                "/\n"
                "Param1=Value1&Param1=value2\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
        .signature = "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
    },
    {
        .name = "get-vanilla-query-order-value",
        .method = "GET",
        .path = "/",
        .query = "Param1=value2&Param1=value1",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
        .creq = "GET\n"
                "/\n"
                "Param1=value1&Param1=value2\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
        .signature = "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
    },
    {
        .name = "get-vanilla-query-unreserved",
        .method = "GET",
        .path = "/",
        .query = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        .creq = "GET\n"
                "/\n"
                "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
        .signature = "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    },
    {
        .name = "get-vanilla-query",
        .method = "GET",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        .signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    {
        .name = "get-vanilla-utf8-query",
        .method = "GET",
        .path = "/",
        .query = "\341\210\264=bar",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        .creq = "GET\n"
                "/\n"
                "%E1%88%B4=bar\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
        .signature = "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    },
    {
        .name = "get-vanilla-with-session-token",
        .method = "GET",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
            {"X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n"
                "\n"
                "host;x-amz-date;x-amz-security-token\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
        .signature = "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    },
    {
        .name = "get-vanilla",
        .method = "GET",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        .signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    {
        .name = "get-relative-relative",
        .method = "GET",
        .path = "/example1/example2/../..",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        .signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    {
        .name = "get-relative",
        .method = "GET",
        .path = "/example/..",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        .signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    {
        .name = "get-slash-dot-slash",
        .method = "GET",
        .path = "/./",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        .signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    {
        .name = "get-slash-pointless-dot",
        .method = "GET",
        .path = "/./example",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        .creq = "GET\n"
                "/example\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
        .signature = "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
    },
    {
        .name = "get-slash",
        .method = "GET",
        .path = "//",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        .creq = "GET\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        .signature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    {
        .name = "get-slashes",
        .method = "GET",
        .path = "//example//",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        .creq = "GET\n"
                "/example/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
        .signature = "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
    },
    {
        .name = "get-space",
        .method = "GET",
        .path = "/example space/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        .creq = "GET\n"
                "/example%20space/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
        .signature = "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    },
    {
        .name = "get-special-character",
        .method = "GET",
        .path = "/example/$delete",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27",
        .creq = "GET\n"
                "/example/%24delete\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "4053e45b5cef7cec5e17f736b1c12b3faf0388fd4c0bd24326386f132039ce5c",
        .signature = "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27",
    },
    {
        .name = "post-header-key-case",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        .creq = "POST\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        .signature = "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    {
        .name = "post-header-key-sort",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"My-Header1", "value1"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        .creq = "POST\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "my-header1:value1\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;my-header1;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
        .signature = "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
    },
    {
        .name = "post-header-value-case",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"My-Header1", "VALUE1"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        .creq = "POST\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "my-header1:VALUE1\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;my-header1;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
        .signature = "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
    },
    {
        .name = "post-sts-header-after",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
            {"X-Amz-Security-Token", "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        .creq = "POST\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        .signature = "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    {
        .name = "post-sts-header-before",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
            {"X-Amz-Security-Token", "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        .creq = "POST\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n"
                "\n"
                "host;x-amz-date;x-amz-security-token\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
        .signature = "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
    },
    {
        .name = "post-vanilla-empty-query-value",
        .method = "POST",
        .path = "/",
        .query = "Param1=value1",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        .creq = "POST\n"
                "/\n"
                "Param1=value1\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
        .signature = "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    },
    {
        .name = "post-vanilla-query",
        .method = "POST",
        .path = "/",
        .query = "Param1=value1",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        .creq = "POST\n"
                "/\n"
                "Param1=value1\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
        .signature = "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
    },
    {
        .name = "post-vanilla",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        .creq = "POST\n"
                "/\n"
                "\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "host;x-amz-date\n"
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        .signature = "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    {
        .name = "post-x-www-form-urlencoded-parameters",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Content-Type", "application/x-www-form-urlencoded; charset=utf8"},
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .body = "Param1=value1",
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
        .creq = "POST\n"
                "/\n"
                "\n"
                "content-type:application/x-www-form-urlencoded; charset=utf8\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "content-type;host;x-amz-date\n"
                "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c",
        .signature = "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
    },
    {
        .name = "post-x-www-form-urlencoded",
        .method = "POST",
        .path = "/",
        .headers = {
            {"Content-Type", "application/x-www-form-urlencoded"},
            {"Host", "example.amazonaws.com"},
            {"X-Amz-Date", "20150830T123600Z"},
        },
        .body = "Param1=value1",
        .authz = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        .creq = "POST\n"
                "/\n"
                "\n"
                "content-type:application/x-www-form-urlencoded\n"
                "host:example.amazonaws.com\n"
                "x-amz-date:20150830T123600Z\n"
                "\n"
                "content-type;host;x-amz-date\n"
                "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        .sts = "AWS4-HMAC-SHA256\n"
                "20150830T123600Z\n"
                "20150830/us-east-1/service/aws4_request\n"
                "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
        .signature = "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    },
};

/* ---- helpers ---- */

struct built {
    struct sigv4_header headers[MAX_HEADERS + 2];
    struct sigv4_request req;
    char payload_hash[SHA256_HEX_LEN + 1];
};

/* A request from headers ending at {NULL}, plus an Authorization header if authz is set. */
static void build(struct built *b, const char *method, const char *path, const char *query,
                  const struct sigv4_header *headers, const char *body, const char *authz)
{
    size_t n = 0;
    for (; n < MAX_HEADERS && headers[n].name; n++)
        b->headers[n] = headers[n];
    if (authz)
        b->headers[n++] = (struct sigv4_header){"Authorization", authz};
    sha256_hex(body ? body : "", body ? strlen(body) : 0, b->payload_hash);
    b->req = (struct sigv4_request){
        .method = method,
        .path = path,
        .query = query,
        .headers = b->headers,
        .nheaders = n,
        .payload_hash = b->payload_hash,
    };
}

static void build_vector(struct built *b, const struct vector *v)
{
    build(b, v->method, v->path, v->query, v->headers, v->body, v->authz);
}

static void assert_err(const struct wh_err *err, int status, const char *type, const char *msg)
{
    assert_int_equal(err->status, status);
    assert_string_equal(err->type, type);
    if (msg)
        assert_string_equal(err->msg, msg);
}

/* Line `n` (0-based) of a canonical request, into a static buffer. */
static const char *line_of(const char *text, int n)
{
    static char line[1024];
    const char *p = text;
    for (; n > 0 && p; n--) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    assert_non_null(p);
    size_t len = strcspn(p, "\n");
    assert_true(len < sizeof(line));
    memcpy(line, p, len);
    line[len] = '\0';
    return line;
}

/* ---- the AWS test suite ---- */

static const struct vector *find_vector(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++)
        if (strcmp(vectors[i].name, name) == 0)
            return &vectors[i];
    fail_msg("no vector %s", name);
    return NULL;
}


static void test_suite_vector(void **state)
{
    const struct vector *v = *state;
    struct built b;
    build_vector(&b, v);

    struct sigv4_auth auth;
    struct wh_err err = {0};
    if (sigv4_parse(&b.req, &auth, &err) < 0)
        fail_msg("%s: parse: %s: %s", v->name, err.type, err.msg);
    assert_string_equal(auth.access_key, "AKIDEXAMPLE");
    assert_string_equal(auth.date, "20150830");
    assert_string_equal(auth.region, "us-east-1");
    assert_string_equal(auth.service, "service");
    assert_string_equal(auth.amz_date, "20150830T123600Z");
    assert_false(auth.presigned);

    cleanup_free char *creq = sigv4_canonical_request(&b.req, &auth);
    assert_string_equal(creq, v->creq);
    cleanup_free char *sts = sigv4_string_to_sign(&b.req, &auth);
    assert_string_equal(sts, v->sts);
    char sig[65];
    sigv4_signature(&b.req, &auth, SUITE_SECRET, sig);
    assert_string_equal(sig, v->signature);

    if (sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW, &err) < 0)
        fail_msg("%s: verify: %s: %s", v->name, err.type, err.msg);
    /* Anywhere inside the 15-minute window is fine. */
    assert_int_equal(sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW + 900, &err), 0);
    assert_int_equal(sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW - 900, &err), 0);

    struct sigv4_auth flipped = auth;
    flipped.signature[17] = flipped.signature[17] == '0' ? '1' : '0';
    err = (struct wh_err){0};
    assert_int_equal(sigv4_verify(&b.req, &flipped, SUITE_SECRET, SUITE_NOW, &err), -1);
    assert_err(&err, 400, "InvalidSignatureException", MISMATCH_MSG);

    err = (struct wh_err){0};
    assert_int_equal(
        sigv4_verify(&b.req, &auth, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", SUITE_NOW, &err),
        -1);
    assert_err(&err, 400, "InvalidSignatureException", MISMATCH_MSG);

    err = (struct wh_err){0};
    assert_int_equal(sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW + 16 * 60, &err), -1);
    assert_err(&err, 400, "InvalidSignatureException",
               "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
               "(20150830T125200Z - 15 min.)");

    err = (struct wh_err){0};
    assert_int_equal(sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW - 16 * 60, &err), -1);
    assert_err(&err, 400, "InvalidSignatureException",
               "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z "
               "(20150830T122000Z + 15 min.)");
}

/* A signed header's value changed after signing must not verify. */
static void test_suite_tampered_header(void **state)
{
    (void)state;
    const struct vector *v = find_vector("get-header-key-duplicate");
    struct sigv4_header h[MAX_HEADERS] = {0};
    memcpy(h, v->headers, sizeof(h));
    h[3].value = "value0";
    struct built b;
    build(&b, v->method, v->path, v->query, h, v->body, v->authz);
    struct sigv4_auth auth;
    struct wh_err err = {0};
    assert_int_equal(sigv4_parse(&b.req, &auth, &err), 0);
    assert_int_equal(sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW, &err), -1);
    assert_err(&err, 400, "InvalidSignatureException", MISMATCH_MSG);
}

/* ---- presigned URLs ---- */

/* The GET Object example of the S3 docs ("Authenticating Requests: Using Query Parameters");
 * "/test.txt" canonicalises the same for S3 and for other services. */
static void test_presigned_aws_doc_example(void **state)
{
    (void)state;
    static const struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {NULL}};
    struct built b;
    build(&b, "GET", "/test.txt",
          "X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
          "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
          "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
          h, NULL, NULL);
    b.req.payload_hash = "UNSIGNED-PAYLOAD";
    struct sigv4_auth auth;
    struct wh_err err = {0};
    assert_int_equal(sigv4_parse(&b.req, &auth, &err), 0);
    assert_true(auth.presigned);
    assert_int_equal(auth.expires, 86400);
    assert_string_equal(auth.access_key, "AKIAIOSFODNN7EXAMPLE");
    assert_string_equal(auth.service, "s3");
    cleanup_free char *creq = sigv4_canonical_request(&b.req, &auth);
    assert_string_equal(creq, "GET\n"
                              "/test.txt\n"
                              "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
                              "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
                              "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
                              "host:examplebucket.s3.amazonaws.com\n"
                              "\n"
                              "host\n"
                              "UNSIGNED-PAYLOAD");
    cleanup_free char *sts = sigv4_string_to_sign(&b.req, &auth);
    assert_string_equal(sts, "AWS4-HMAC-SHA256\n"
                             "20130524T000000Z\n"
                             "20130524/us-east-1/s3/aws4_request\n"
                             "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
    const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const time_t t0 = 1369353600; /* 20130524T000000Z */
    if (sigv4_verify(&b.req, &auth, secret, t0 + 3600, &err) < 0)
        fail_msg("verify: %s: %s", err.type, err.msg);
    assert_int_equal(sigv4_verify(&b.req, &auth, secret, t0 + 86400, &err), 0);
    err = (struct wh_err){0};
    assert_int_equal(sigv4_verify(&b.req, &auth, secret, t0 + 86401, &err), -1);
    assert_err(&err, 403, "AccessDeniedException", "Request has expired");
}

#define PRESIGN_BASE                                                                               \
    "Action=ListClusters&X-Amz-Algorithm=AWS4-HMAC-SHA256"                                         \
    "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fecs%2Faws4_request"                    \
    "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"

static const struct sigv4_header presign_headers[] = {{"Host", "localhost:4566"}, {NULL}};

/* Sign PRESIGN_BASE with our own signer and return the full query (heap). */
static char *presign(const char *secret)
{
    struct built b;
    build(&b, "GET", "/", PRESIGN_BASE, presign_headers, NULL, NULL);
    struct sigv4_auth auth = {
        .access_key = "AKIDEXAMPLE",
        .date = "20150830",
        .region = "us-east-1",
        .service = "ecs",
        .signed_headers = "host",
        .amz_date = "20150830T123600Z",
        .presigned = true,
        .expires = 300,
    };
    char sig[65];
    sigv4_signature(&b.req, &auth, secret, sig);
    return xasprintf("%s&X-Amz-Signature=%s", PRESIGN_BASE, sig);
}

static int presigned_verify(const char *query, const char *secret, time_t now, struct wh_err *err)
{
    struct built b;
    build(&b, "GET", "/", query, presign_headers, NULL, NULL);
    struct sigv4_auth auth;
    if (sigv4_parse(&b.req, &auth, err) < 0)
        return -2;
    return sigv4_verify(&b.req, &auth, secret, now, err);
}

static void test_presigned_round_trip(void **state)
{
    (void)state;
    cleanup_free char *query = presign(SUITE_SECRET);
    struct built b;
    build(&b, "GET", "/", query, presign_headers, NULL, NULL);
    struct sigv4_auth auth;
    struct wh_err err = {0};
    assert_int_equal(sigv4_parse(&b.req, &auth, &err), 0);
    assert_true(auth.presigned);
    assert_int_equal(auth.expires, 300);
    assert_string_equal(auth.service, "ecs");
    assert_string_equal(auth.signed_headers, "host");
    /* X-Amz-Signature is not part of what was signed. */
    cleanup_free char *creq = sigv4_canonical_request(&b.req, &auth);
    assert_string_equal(line_of(creq, 2),
                        "Action=ListClusters&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                        "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fecs%2Faws4_request&X-Amz-Date="
                        "20150830T123600Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host");

    assert_int_equal(presigned_verify(query, SUITE_SECRET, SUITE_NOW, &err), 0);
    assert_int_equal(presigned_verify(query, SUITE_SECRET, SUITE_NOW + 300, &err), 0);
    /* A little ahead of the server's clock is tolerated. */
    assert_int_equal(presigned_verify(query, SUITE_SECRET, SUITE_NOW - 600, &err), 0);

    /* Parameter order does not matter: the signature moved to the front. */
    const char *sig = strstr(query, "&X-Amz-Signature=");
    cleanup_free char *moved = xasprintf("%s&%.*s", sig + 1, (int)(sig - query), query);
    assert_int_equal(presigned_verify(moved, SUITE_SECRET, SUITE_NOW, &err), 0);

    err = (struct wh_err){0};
    assert_int_equal(presigned_verify(query, SUITE_SECRET, SUITE_NOW + 301, &err), -1);
    assert_err(&err, 403, "AccessDeniedException", "Request has expired");

    err = (struct wh_err){0};
    assert_int_equal(presigned_verify(query, SUITE_SECRET, SUITE_NOW - 16 * 60, &err), -1);
    assert_err(&err, 403, "AccessDeniedException", "Request is not yet valid");

    err = (struct wh_err){0};
    assert_int_equal(presigned_verify(query, "not-the-secret", SUITE_NOW, &err), -1);
    assert_err(&err, 400, "InvalidSignatureException", MISMATCH_MSG);

    /* Tampered: another action, or a longer lifetime. */
    cleanup_free char *action = xstrdup(query);
    memcpy(strstr(action, "ListClusters"), "ListServices", 12);
    err = (struct wh_err){0};
    assert_int_equal(presigned_verify(action, SUITE_SECRET, SUITE_NOW, &err), -1);
    assert_err(&err, 400, "InvalidSignatureException", MISMATCH_MSG);
    cleanup_free char *longer = xstrdup(query);
    memcpy(strstr(longer, "X-Amz-Expires=300"), "X-Amz-Expires=900", 17);
    err = (struct wh_err){0};
    assert_int_equal(presigned_verify(longer, SUITE_SECRET, SUITE_NOW + 600, &err), -1);
    assert_err(&err, 400, "InvalidSignatureException", MISMATCH_MSG);
}

/* ---- canonicalisation details beyond the suite ---- */

static const char *canonical_line(const char *path, const char *query, int line)
{
    static const struct sigv4_header h[] = {{"Host", "h"}, {NULL}};
    struct built b;
    build(&b, "GET", path, query, h, NULL, NULL);
    struct sigv4_auth auth = {.signed_headers = "host"};
    cleanup_free char *creq = sigv4_canonical_request(&b.req, &auth);
    return line_of(creq, line);
}

static void test_canonical_uri(void **state)
{
    (void)state;
    static const struct {
        const char *path, *want;
    } cases[] = {
        {NULL, "/"},
        {"", "/"},
        {"/", "/"},
        {"/a/./b/../c", "/a/c"},
        {"/../../x", "/x"},
        {"/a//b/", "/a/b/"},
        {"/a/b/..", "/a"},
        {"/a/b/../", "/a/"},
        {"/a/.", "/a"},
        /* A wire path arrives percent-encoded and is encoded once more. */
        {"/%E1%88%B4/a%20b", "/%25E1%2588%25B4/a%2520b"},
        {"/a:b@c+d=e", "/a%3Ab%40c%2Bd%3De"},
        {"/%2E%2E/x", "/%252E%252E/x"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_string_equal(canonical_line(cases[i].path, NULL, 1), cases[i].want);
}

static void test_canonical_query(void **state)
{
    (void)state;
    static const struct {
        const char *query, *want;
    } cases[] = {
        {NULL, ""},
        {"", ""},
        {"b=2&a=1", "a=1&b=2"},
        {"a&b=", "a=&b="},
        {"&&a=1&&", "a=1"},
        {"x=%7e%41", "x=~A"},
        {"x=a+b", "x=a%2Bb"},
        {"x=a%20b", "x=a%20b"},
        {"x=%2f", "x=%2F"},
        {"x=%zz&y=%", "x=%25zz&y=%25"},
        {"x=a=b", "x=a%3Db"},
        {"Param-3=1&Param=2", "Param=2&Param-3=1"},
        {"k=b&k=a&k=", "k=&k=a&k=b"},
        /* X-Amz-Signature only leaves presigned requests. */
        {"X-Amz-Signature=x&a=1", "X-Amz-Signature=x&a=1"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_string_equal(canonical_line("/", cases[i].query, 2), cases[i].want);
}

static void test_canonical_headers(void **state)
{
    (void)state;
    static const struct sigv4_header h[] = {
        {"HOST", "h"},
        {"x-spaces", "  a \t b\r\n  c  "},
        {"X-Empty", ""},
        {"x-list", "1"},
        {"X-List", " 2 "},
        {"x-unsigned", "nope"},
        {NULL},
    };
    struct built b;
    build(&b, "PUT", "/", NULL, h, "body", NULL);
    struct sigv4_auth auth = {.signed_headers = "host;x-absent;x-empty;x-list;x-spaces"};
    cleanup_free char *creq = sigv4_canonical_request(&b.req, &auth);
    assert_string_equal(creq, "PUT\n/\n\n"
                              "host:h\n"
                              "x-absent:\n"
                              "x-empty:\n"
                              "x-list:1,2\n"
                              "x-spaces:a b c\n"
                              "\n"
                              "host;x-absent;x-empty;x-list;x-spaces\n"
                              "230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5");
}

/* A Date header (RFC 1123) instead of X-Amz-Date. */
static void test_date_header(void **state)
{
    (void)state;
    static const struct sigv4_header h[] = {
        {"Host", "example.amazonaws.com"}, {"Date", "Sun, 30 Aug 2015 12:36:00 GMT"}, {NULL}};
    struct built b;
    build(&b, "POST", "/", NULL, h, "{}", NULL);
    struct sigv4_auth auth = {
        .access_key = "AKIDEXAMPLE",
        .date = "20150830",
        .region = "us-east-1",
        .service = "ecs",
        .signed_headers = "date;host",
        .amz_date = "20150830T123600Z",
    };
    char sig[65];
    sigv4_signature(&b.req, &auth, SUITE_SECRET, sig);
    cleanup_free char *authz = xasprintf("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
                                         "us-east-1/ecs/aws4_request,SignedHeaders=date;host,"
                                         "Signature=%s",
                                         sig);
    build(&b, "POST", "/", NULL, h, "{}", authz);
    struct sigv4_auth parsed;
    struct wh_err err = {0};
    if (sigv4_parse(&b.req, &parsed, &err) < 0)
        fail_msg("parse: %s: %s", err.type, err.msg);
    assert_string_equal(parsed.amz_date, "20150830T123600Z");
    assert_int_equal(sigv4_verify(&b.req, &parsed, SUITE_SECRET, SUITE_NOW, &err), 0);
}

/* ---- errors ---- */

#define AUTHZ_PREFIX "AWS4-HMAC-SHA256 "
#define GOOD_CRED "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
#define GOOD_SIG "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
#define GOOD_QSIG "X-Amz-" GOOD_SIG

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *name, *authz, *date, *query;
        int status;
        const char *type, *msg; /* msg: a substring */
    } cases[] = {
        {"no auth", NULL, "20150830T123600Z", NULL, 400, "MissingAuthenticationTokenException",
         "Missing Authentication Token"},
        {"unrelated query", NULL, "20150830T123600Z", "Action=X", 400,
         "MissingAuthenticationTokenException", "Missing Authentication Token"},
        {"credential short", AUTHZ_PREFIX "Credential=AKIDEXAMPLE/20150830/us-east-1/service, "
                                          "SignedHeaders=host, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Credential should be of the form <AccessKeyId>/<YYYYMMDD>/<region>/<service>/"
         "aws4_request, not 'AKIDEXAMPLE/20150830/us-east-1/service'."},
        {"credential long", AUTHZ_PREFIX "Credential=A/20150830/r/s/aws4_request/x, "
                                         "SignedHeaders=host, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Credential should be of the form"},
        {"credential terminator", AUTHZ_PREFIX "Credential=A/20150830/r/s/aws4, SignedHeaders=host, "
                                               GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'."},
        {"credential date", AUTHZ_PREFIX "Credential=A/2015-08-30/r/s/aws4_request, "
                                         "SignedHeaders=host, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Credential should be scoped to a valid date (YYYYMMDD), not '2015-08-30'."},
        {"credential no key", AUTHZ_PREFIX "Credential=/20150830/r/s/aws4_request, "
                                           "SignedHeaders=host, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Credential should begin with a valid access key id"},
        {"missing signature", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=host", "20150830T123600Z",
         NULL, 400, "IncompleteSignatureException",
         "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 "
         "Credential="},
        {"missing all", AUTHZ_PREFIX, "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Authorization header requires 'Credential' parameter. Authorization header requires "
         "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."},
        {"not key=value", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders, " GOOD_SIG, "20150830T123600Z",
         NULL, 400, "IncompleteSignatureException", "of the form key=value, not 'SignedHeaders'."},
        {"duplicate component", AUTHZ_PREFIX GOOD_CRED ", " GOOD_CRED ", SignedHeaders=host, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "more than one 'Credential' parameter"},
        {"algorithm", "AWS4-HMAC-SHA512 " GOOD_CRED ", SignedHeaders=host, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'."},
        {"basic auth", "Basic QUtJRDpzZWNyZXQ=", "20150830T123600Z", NULL, 400,
         "IncompleteSignatureException", "Unsupported AWS 'algorithm': 'Basic'."},
        {"signature not hex", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=host, Signature=xyz",
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException",
         "Signature should be 64 lower-case hexadecimal digits, not 'xyz'."},
        {"empty signed headers", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException", "SignedHeaders should be"},
        {"signed headers ;;", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=host;;x-amz-date, " GOOD_SIG,
         "20150830T123600Z", NULL, 400, "IncompleteSignatureException", "SignedHeaders should be"},
        {"no date", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=host, " GOOD_SIG, NULL, NULL, 400,
         "IncompleteSignatureException",
         "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
        {"bad date", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=host, " GOOD_SIG,
         "2015-08-30T12:36:00Z", NULL, 400, "IncompleteSignatureException",
         "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'."},
        {"impossible date", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=host, " GOOD_SIG,
         "20150230T123600Z", NULL, 400, "IncompleteSignatureException", "basic format"},
        {"header and query", AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=host, " GOOD_SIG,
         "20150830T123600Z", "X-Amz-Algorithm=AWS4-HMAC-SHA256", 400,
         "IncompleteSignatureException", "Only one auth mechanism allowed"},
        {"presigned missing", NULL, NULL,
         "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20150830%2Fr%2Fs%2Faws4_request"
         "&X-Amz-Expires=60&X-Amz-SignedHeaders=host",
         400, "IncompleteSignatureException",
         "AWS query-string parameters must include 'X-Amz-Date', 'X-Amz-Signature'. Re-examine "
         "the query-string parameters."},
        {"presigned expires too long", NULL, NULL,
         "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20150830%2Fr%2Fs%2Faws4_request"
         "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&" GOOD_QSIG,
         400, "IncompleteSignatureException",
         "X-Amz-Expires must be between 1 and 604800 seconds, not '604801'."},
        {"presigned expires zero", NULL, NULL,
         "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20150830%2Fr%2Fs%2Faws4_request"
         "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=0&X-Amz-SignedHeaders=host&" GOOD_QSIG,
         400, "IncompleteSignatureException", "X-Amz-Expires must be between 1 and 604800"},
        {"presigned algorithm", NULL, NULL,
         "X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=A%2F20150830%2Fr%2Fs%2Faws4_request"
         "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&" GOOD_QSIG,
         400, "IncompleteSignatureException", "X-Amz-Algorithm only supports"},
        {"presigned repeated", NULL, NULL,
         "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20150830%2Fr%2Fs%2Faws4_request"
         "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&" GOOD_QSIG
         "&" GOOD_QSIG,
         400, "IncompleteSignatureException", "'X-Amz-Signature' must appear only once"},
        {"presigned bad credential", NULL, NULL,
         "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20150830%2Fr%2Fs"
         "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&" GOOD_QSIG,
         400, "IncompleteSignatureException", "Credential should be of the form"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct sigv4_header h[3] = {{"Host", "example.amazonaws.com"}};
        if (cases[i].date)
            h[1] = (struct sigv4_header){"X-Amz-Date", cases[i].date};
        struct built b;
        build(&b, "POST", "/", cases[i].query, h, NULL, cases[i].authz);
        struct sigv4_auth auth;
        struct wh_err err = {0};
        if (sigv4_parse(&b.req, &auth, &err) == 0)
            fail_msg("%s: parse succeeded", cases[i].name);
        if (err.status != cases[i].status || strcmp(err.type, cases[i].type) != 0 ||
            !strstr(err.msg, cases[i].msg))
            fail_msg("%s:\n  got  %d %s: %s\n  want %d %s: ...%s...", cases[i].name, err.status,
                     err.type, err.msg, cases[i].status, cases[i].type, cases[i].msg);
    }
}

/* Claims that parse but must not verify whatever the signature. */
static void test_verify_scope_errors(void **state)
{
    (void)state;
    static const struct sigv4_header h[] = {
        {"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}, {NULL}};
    static const struct {
        const char *authz, *msg;
    } cases[] = {
        {AUTHZ_PREFIX "Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, "
                      "SignedHeaders=host;x-amz-date, " GOOD_SIG,
         "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
         "HTTP: '20150831' != '20150830', from '20150830T123600Z'."},
        {AUTHZ_PREFIX GOOD_CRED ", SignedHeaders=x-amz-date, " GOOD_SIG,
         "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct built b;
        build(&b, "GET", "/", NULL, h, NULL, cases[i].authz);
        struct sigv4_auth auth;
        struct wh_err err = {0};
        assert_int_equal(sigv4_parse(&b.req, &auth, &err), 0);
        assert_int_equal(sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW, &err), -1);
        assert_err(&err, 400, "InvalidSignatureException", cases[i].msg);
    }
}

/* ---- the signing-key cache ---- */

static void sign_vanilla(const char *secret, const char *service, char out[65])
{
    struct built b;
    build_vector(&b, find_vector("get-vanilla"));
    struct sigv4_auth auth;
    assert_int_equal(sigv4_parse(&b.req, &auth, NULL), 0);
    snprintf(auth.service, sizeof(auth.service), "%s", service);
    sigv4_signature(&b.req, &auth, secret, out);
}

static void test_key_cache(void **state)
{
    (void)state;
    char a1[65], b1[65], a2[65], other[65], big[65], big2[65];
    sign_vanilla(SUITE_SECRET, "service", a1);
    assert_string_equal(a1, find_vector("get-vanilla")->signature);
    sign_vanilla("another-secret", "service", b1);
    assert_string_not_equal(a1, b1);
    sign_vanilla(SUITE_SECRET, "service", a2);
    assert_string_equal(a1, a2);
    /* Same secret and date, another service: another key. */
    sign_vanilla(SUITE_SECRET, "ecs", other);
    assert_string_not_equal(a1, other);
    /* A prefix of a cached secret is not a hit. */
    sign_vanilla("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKE", "service", other);
    assert_string_not_equal(a1, other);
    /* Evict everything, then the first key is derived again, identically. */
    for (int i = 0; i < 20; i++) {
        char secret[32], sig[65];
        snprintf(secret, sizeof(secret), "secret-%d", i);
        sign_vanilla(secret, "service", sig);
    }
    sign_vanilla(SUITE_SECRET, "service", a2);
    assert_string_equal(a1, a2);
    /* Secrets too long for a cache slot still work. */
    char long_secret[300];
    memset(long_secret, 'k', sizeof(long_secret) - 1);
    long_secret[sizeof(long_secret) - 1] = '\0';
    sign_vanilla(long_secret, "service", big);
    sign_vanilla(long_secret, "service", big2);
    assert_string_equal(big, big2);
    assert_string_not_equal(big, a1);
}

struct thread_arg {
    int index, failures;
};

static void *verify_thread(void *p)
{
    struct thread_arg *arg = p;
    for (int i = 0; i < 300; i++) {
        const struct vector *v = &vectors[(size_t)(i + arg->index) % ARRAY_SIZE(vectors)];
        struct built b;
        build_vector(&b, v);
        struct sigv4_auth auth;
        if (sigv4_parse(&b.req, &auth, NULL) < 0 ||
            sigv4_verify(&b.req, &auth, SUITE_SECRET, SUITE_NOW, NULL) < 0)
            arg->failures++;
        /* Churn the cache with other secrets in between. */
        char secret[32];
        snprintf(secret, sizeof(secret), "t%d-%d", arg->index, i % 11);
        if (sigv4_verify(&b.req, &auth, secret, SUITE_NOW, NULL) == 0)
            arg->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, verify_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_suite_tampered_header),
        cmocka_unit_test(test_presigned_aws_doc_example),
        cmocka_unit_test(test_presigned_round_trip),
        cmocka_unit_test(test_canonical_uri),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_canonical_headers),
        cmocka_unit_test(test_date_header),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_verify_scope_errors),
        cmocka_unit_test(test_key_cache),
        cmocka_unit_test(test_threads),
    };
    struct CMUnitTest tests[ARRAY_SIZE(vectors) + ARRAY_SIZE(fixed)];
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++)
        tests[n++] = (struct CMUnitTest){
            .name = vectors[i].name,
            .test_func = test_suite_vector,
            .initial_state = (void *)&vectors[i],
        };
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("sigv4", tests, n, NULL, NULL);
}
