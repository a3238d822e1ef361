/** The console's shell: a header with the pages, hash routes, and the login form on 401. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { setOnUnauthorized, token } from './api.js';
import { DeviceList } from './pages/device-list.js';
import { DevicePage } from './pages/device-page.js';
import { Login } from './pages/login.js';
import { MappersPage } from './pages/mappers.js';
import { PairingPage } from './pages/pairing.js';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function App() {
  const hash = useHash();
  const [needLogin, setNeedLogin] = useState(false);
  const [session, setSession] = useState(0);
  useEffect(() => setOnUnauthorized(() => setNeedLogin(true)), []);
  const device = /^#\/devices\/([^/]+)\/([^/]+)$/.exec(hash);
  const page = needLogin ? (
    <Login
      onDone={() => {
        setNeedLogin(false);
        setSession((s) => s + 1);
      }}
    />
  ) : device ? (
    <DevicePage key={`${session}${hash}`} id={`${decodeURIComponent(device[1]!)}/${decodeURIComponent(device[2]!)}`} />
  ) : hash === '#/mappers' ? (
    <MappersPage key={session} />
  ) : hash === '#/pairing' ? (
    <PairingPage key={session} />
  ) : (
    <DeviceList key={session} />
  );
  return (
    <>
      <header>
        <a class="brand" href="#/">
          EdgeTwin
        </a>
        <nav>
          <a href="#/" class={!device && hash !== '#/mappers' && hash !== '#/pairing' ? 'on' : ''}>
            Devices
          </a>
          <a href="#/mappers" class={hash === '#/mappers' ? 'on' : ''}>
            Mappers
          </a>
          <a href="#/pairing" class={hash === '#/pairing' ? 'on' : ''}>
            Pairing
          </a>
          {token.get() && (
            <a
              href="#/"
              onClick={() => {
                token.clear();
                setNeedLogin(true);
              }}
            >
              Log out
            </a>
          )}
        </nav>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
