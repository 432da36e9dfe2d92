// A certified OpenID Connect provider (panva/oidc-provider) for the browser tests, on 127.0.0.1 only.
//
// Its development sign-in page accepts any login and password; the login becomes the subject and the
// e-mail claim, so a test chooses who signs in by typing an account's e-mail. Never for production.
//
//   OIDC_PORT=9440 OIDC_REDIRECT_URI=http://localhost:8501/oauth2callback \
//   OIDC_CLIENT_ID=tthc OIDC_CLIENT_SECRET=... node provider.mjs
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT || 9440);
const redirectUri = process.env.OIDC_REDIRECT_URI;
if (!redirectUri) {
  console.error('OIDC_REDIRECT_URI is required');
  process.exit(2);
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'tthc-dashboard',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'tthc-test-secret-not-for-production',
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri],  // st.logout returns through the callback
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, name: id };
      },
    };
  },
  cookies: { keys: ['tthc-test-only-cookie-key'] },
  // Put the e-mail in the ID token, as Keycloak and most providers do (Streamlit's st.user reads the
  // ID token only; oidc-provider's default keeps scope claims for the userinfo endpoint).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready on http://127.0.0.1:${port}`);
});
